"""Both model clients (plain HTTP and litellm) against a real scripted HTTP endpoint: retries, Retry-After,
verdicts, redaction, the normalised reply."""

from __future__ import annotations

import asyncio
import time

import pytest

from osmosis_local.llm.base import ModelReply
from osmosis_local.llm.retry import LLMCallError, RetryPolicy
from osmosis_local.llm.transport import acomplete, complete
from osmosis_local.redaction import redact
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.05)


def _content(reply: ModelReply) -> object:
    return reply.message["content"]


def _sequence(*replies: ScriptedReply | dict):
    it = iter(replies)

    def responder(_body: dict):
        return next(it)

    return responder


def _request(server: ScriptedOpenAIServer, **extra) -> dict:
    return {
        "model": "openai/scripted",
        "api_base": server.base_url,
        "api_key": "sk-test-secret-key-123456789",
        "messages": [{"role": "user", "content": "hi"}],
        "timeout": 5,
        **extra,
    }


def test_429_then_200_is_retried_honouring_retry_after(llm_client: str) -> None:
    replies = _sequence(ScriptedReply(status=429, headers={"Retry-After": "0.2"}), chat_completion(content="ok"))
    with ScriptedOpenAIServer(replies) as server:
        started = time.monotonic()
        response = asyncio.run(acomplete(_request(server), policy=FAST, llm_client=llm_client))
        elapsed = time.monotonic() - started
    assert _content(response) == "ok"
    assert len(server.requests) == 2
    assert elapsed >= 0.2


def test_persistent_500_gives_up_after_max_attempts_with_per_row_verdict(llm_client: str) -> None:
    with ScriptedOpenAIServer(lambda _b: ScriptedReply(status=500)) as server:
        with pytest.raises(LLMCallError) as info:
            asyncio.run(acomplete(_request(server), policy=FAST, llm_client=llm_client))
    assert len(server.requests) == 3
    assert info.value.attempts == 3
    assert info.value.systemic is False
    assert "HTTP 500" in info.value.message


def test_hang_past_timeout_is_a_retryable_timeout(llm_client: str) -> None:
    with ScriptedOpenAIServer(lambda _b: ScriptedReply(body=chat_completion(content="late"), delay_s=3)) as server:
        with pytest.raises(LLMCallError) as info:
            asyncio.run(
                acomplete(
                    _request(server, timeout=0.5),
                    policy=RetryPolicy(max_attempts=2, initial_wait_s=0.01),
                    llm_client=llm_client,
                )
            )
    assert info.value.kind == "timeout"
    assert info.value.systemic is False


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (403, "permission"), (404, "not_found")])
def test_auth_and_missing_model_are_systemic_and_not_retried(status: int, kind: str, llm_client: str) -> None:
    with ScriptedOpenAIServer(lambda _b: ScriptedReply(status=status)) as server:
        with pytest.raises(LLMCallError) as info:
            complete(_request(server), policy=FAST, llm_client=llm_client)
    assert len(server.requests) == 1
    assert info.value.kind == kind
    assert info.value.systemic is True
    assert "sk-test-secret-key-123456789" not in info.value.message


def test_unreachable_endpoint_is_systemic_connection_error(llm_client: str) -> None:
    with ScriptedOpenAIServer(lambda _b: chat_completion(content="x")) as server:
        request = _request(server)
    with pytest.raises(LLMCallError) as info:
        complete(request, policy=FAST, llm_client=llm_client)
    assert info.value.kind == "connection"
    assert info.value.systemic is True


def test_usage_and_drop_params_reach_the_wire(llm_client: str) -> None:
    with ScriptedOpenAIServer(lambda _b: chat_completion(content="ok", prompt_tokens=7, completion_tokens=3)) as server:
        response = complete(_request(server, temperature=0.2), llm_client=llm_client)
    assert (response.prompt_tokens, response.completion_tokens) == (7, 3)
    assert server.requests[0]["temperature"] == 0.2
    assert server.auth_headers[0] == "Bearer sk-test-secret-key-123456789"


def test_redact_hides_given_secrets_and_openai_style_keys() -> None:
    text = redact("key abcdEFGH1234 and sk-proj-abcdefghijklmnop", ["abcdEFGH1234"])
    assert "abcdEFGH1234" not in text
    assert "abcdefghijklmnop" not in text
