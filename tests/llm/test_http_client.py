"""The plain-HTTP path for OpenAI-compatible endpoints, against a real scripted HTTP server on 127.0.0.1:
rejected parameters dropped, faults classified like the litellm path, a whole-request deadline, and no
litellm import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO

from osmosis_local.llm.base import ModelReply
from osmosis_local.llm.http_client import HttpModelClient
from osmosis_local.llm.retry import LLMCallError, RetryPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.02)
KEY = "sk-http-path-secret-0123456789"


def _request(server: ScriptedOpenAIServer, **extra: Any) -> dict[str, Any]:
    return {
        "model": "openai/scripted",
        "api_base": server.base_url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hi"}],
        "timeout": 5,
        **extra,
    }


async def _apost(request: Any, policy: RetryPolicy) -> ModelReply:
    client = HttpModelClient()
    try:
        return await client.acomplete(request, policy=policy)
    finally:
        await client.aclose()


def apost_chat(request: Any, *, policy: RetryPolicy) -> Any:
    """One async (aiohttp) call on a client of its own."""
    return _apost(request, policy)


def post_chat(request: Any, *, policy: RetryPolicy) -> ModelReply:
    """One blocking (httpx) call."""
    return HttpModelClient().complete(request, policy=policy)


def _both(request: dict[str, Any], policy: RetryPolicy = FAST) -> list[Any]:
    """The same request through the async (aiohttp) and the blocking (httpx) client; results or errors."""
    out: list[Any] = []
    for call in (lambda: asyncio.run(apost_chat(request, policy=policy)), lambda: post_chat(request, policy=policy)):
        try:
            out.append(call())
        except LLMCallError as exc:
            out.append(exc)
    return out


def test_a_parameter_the_endpoint_rejects_is_dropped_and_left_out_afterwards() -> None:
    def responder(body: dict[str, Any]) -> ScriptedReply:
        if "temperature" in body:
            message = "Unsupported parameter: 'temperature' is not supported with this model."
            return ScriptedReply(status=400, body={"error": {"message": message}})
        return ScriptedReply(body=chat_completion(content="ok"))

    with ScriptedOpenAIServer(responder) as server:
        request = _request(server, temperature=0.3, seed=4, model="openai/only-default-temperature")
        first = asyncio.run(apost_chat(request, policy=FAST))
        assert first.message["content"] == "ok"
        assert len(server.requests) == 2 and "temperature" not in server.requests[1]
        assert server.requests[1]["seed"] == 4  # only the rejected parameter goes
        post_chat(request, policy=FAST)
        assert len(server.requests) == 3 and "temperature" not in server.requests[2]  # remembered


@pytest.mark.parametrize(
    ("reply", "kind", "systemic", "text"),
    [
        (ScriptedReply(status=401, body={"error": {"message": f"bad key {KEY}"}}), "auth", True, "Authentication"),
        (ScriptedReply(status=404), "not_found", True, "not found"),
        (ScriptedReply(status=500), "server", False, "HTTP 500"),
        (ScriptedReply(status=429, headers={"Retry-After": "0"}), "rate_limit", False, "Rate limit"),
        (ScriptedReply(body="<html>oops</html>"), "bad_response", False, "not JSON"),
        (ScriptedReply(body={"id": "x", "choices": []}), "bad_response", False, "no choices"),
        (ScriptedReply(body=chat_completion(content="x" * 500), cut_body_after=40), "connection_dropped", False,
         "broke"),
        (ScriptedReply(status=400, body={"error": {"message": "maximum context length exceeded"}}), "context_window",
         False, "Context window"),
    ],
)  # fmt: skip
def test_faults_get_the_verdicts_of_the_litellm_path(
    reply: ScriptedReply, kind: str, systemic: bool, text: str
) -> None:
    with ScriptedOpenAIServer(lambda _b: reply) as server:
        results = _both(_request(server))
    for error in results:
        assert isinstance(error, LLMCallError), error
        assert (error.kind, error.systemic) == (kind, systemic)
        assert text in error.message and KEY not in error.message
        assert "Traceback" not in error.message and "Error:" not in error.message.split(":")[0]
        assert error.attempts == (3 if error.retryable else 1)


def test_a_reset_or_bad_body_on_one_request_is_retried_and_the_call_succeeds() -> None:
    faults = iter([ScriptedReply(body=chat_completion(content="x" * 300), cut_body_after=30),
                   ScriptedReply(body="not json"), ScriptedReply(body={"choices": []})])  # fmt: skip

    def responder(_body: dict[str, Any]) -> ScriptedReply:
        return next(faults, ScriptedReply(body=chat_completion(content="fine")))

    with ScriptedOpenAIServer(responder) as server:
        body = asyncio.run(apost_chat(_request(server), policy=RetryPolicy(max_attempts=4, initial_wait_s=0.01)))
    assert body.message["content"] == "fine" and len(server.requests) == 4


def test_an_unreachable_endpoint_is_systemic_once_the_retries_run_out() -> None:
    with ScriptedOpenAIServer(lambda _b: chat_completion(content="x")) as server:
        request = _request(server)
    for error in _both(request):
        assert isinstance(error, LLMCallError)
        assert (error.kind, error.systemic, error.attempts) == ("connection", True, 3)


def test_the_timeout_is_a_deadline_for_the_whole_response() -> None:
    # 400 bytes dripped 20 ms apart would take 8 s; the deadline is 1 s for the whole request.
    reply = ScriptedReply(body=chat_completion(content="y" * 300), drip_s=0.02)
    with ScriptedOpenAIServer(lambda _b: reply) as server:
        for call in ("async", "sync"):
            started = time.monotonic()
            request = _request(server, timeout=1)
            with pytest.raises(LLMCallError) as info:
                if call == "async":
                    asyncio.run(apost_chat(request, policy=RetryPolicy(max_attempts=1)))
                else:
                    post_chat(request, policy=RetryPolicy(max_attempts=1))
            assert time.monotonic() - started < 2.5, call
            assert info.value.kind == "timeout" and "1s" in info.value.message


def test_an_eval_on_a_base_url_never_imports_litellm(tmp_path: Path) -> None:
    script = f"""
import sys
from osmosis_local import evaluate
from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer
with ScriptedOpenAIServer(ScriptedPolicy.from_jsonl("test_data.jsonl")) as policy:
    result = evaluate(mcp="mcp", dataset="test_data.jsonl", eval_fn=["reward_fn.compute_reward:numbers_match_reward"],
                      model="scripted", base_url=policy.base_url, limit=2, log={str(tmp_path / "log.jsonl")!r})
print(result.summary.eval_fns["reward_fn.compute_reward:numbers_match_reward"].mean, "litellm" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0", "False"]


@pytest.mark.parametrize(
    ("extra", "answer", "content"),
    [
        ({}, '{"choices": [{"message": {"role": "assistant", "content": "fast"}}]}', "fast"),
        # what orjson refuses goes through `json`: an integer past 64 bits, both ways, and NaN in an answer
        ({"seed": 2**70}, '{"created": 1' + "0" * 30 + ', "choices": [{"message": {"content": "big"}}]}', "big"),
        ({}, '{"x": NaN, "choices": [{"message": {"content": "nan"}}]}', "nan"),
    ],
)
def test_request_and_answer_json_that_the_fast_codec_refuses_still_goes_through(
    extra: dict[str, Any], answer: str, content: str
) -> None:
    with ScriptedOpenAIServer(lambda body: ScriptedReply(body=answer)) as server:
        replies = _both(_request(server, **extra))
        sent = server.requests
    assert [getattr(reply, "message", reply).get("content") for reply in replies] == [content, content]
    assert all(body.get("seed") == extra.get("seed") for body in sent) and len(sent) == 2
