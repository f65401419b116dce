"""The model-client seam: which transport reaches a model (one table, one place), and the one normalisation of
a reply into `ModelReply`, the same whichever transport brought it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from osmosis_local.llm.base import ModelReply, reply_from_body
from osmosis_local.llm.http_client import HttpModelClient
from osmosis_local.llm.litellm_client import LiteLLMClient
from osmosis_local.llm.transport import LLM_CLIENT_ENV, choose_transport, client_for, llm_client_mode, use_llm_client
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, chat_completion, tool_call


@pytest.mark.parametrize(
    ("model", "api_base", "llm_client", "transport"),
    [
        ("openai/scripted", "http://127.0.0.1:8001/v1", None, "http"),  # --base-url
        ("openai/local/qwen2.5-1.5b", "http://127.0.0.1:9/v1", "auto", "http"),  # the embedded model
        ("openai/scripted", "http://127.0.0.1:8001/v1", "litellm", "litellm"),  # --llm-client litellm
        ("openai/gpt-5-mini", None, None, "litellm"),  # a provider: litellm translates
        ("anthropic/claude-sonnet-4-5", None, "auto", "litellm"),
        ("anthropic/claude-sonnet-4-5", "http://proxy/v1", "auto", "litellm"),  # not an OpenAI-compatible id
        ("openai/responses/gpt-5", None, "auto", "litellm"),  # the judge's Responses API id
        ("openai/x", "", "auto", "litellm"),  # an empty base URL is none
    ],
)
def test_the_transport_table(model: str, api_base: str | None, llm_client: str | None, transport: str) -> None:
    assert choose_transport(model, api_base, llm_client) == transport


def test_a_runs_choice_reaches_the_calls_inside_it_and_the_environment_is_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request: Any = {"model": "openai/scripted", "api_base": "http://127.0.0.1:8001/v1", "messages": []}
    monkeypatch.delenv(LLM_CLIENT_ENV, raising=False)
    assert isinstance(client_for(request), HttpModelClient) and llm_client_mode() == "auto"
    with use_llm_client("litellm"):
        assert isinstance(client_for(request), LiteLLMClient)

        async def inside_a_task() -> str:
            return llm_client_mode()

        assert asyncio.run(inside_a_task()) == "litellm"
    monkeypatch.setenv(LLM_CLIENT_ENV, "litellm")
    assert isinstance(client_for(request), LiteLLMClient)
    monkeypatch.setenv(LLM_CLIENT_ENV, "nonsense")
    assert llm_client_mode() == "auto"


CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}


@pytest.mark.parametrize(
    ("message", "finish", "usage", "expected_message", "expected_tokens"),
    [
        ({"role": "assistant", "content": "#### 3"}, "stop", {"prompt_tokens": 7, "completion_tokens": 3},
         {"role": "assistant", "content": "#### 3"}, (7, 3)),
        # null fields are dropped, tool calls get every field an OpenAI endpoint needs back
        ({"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "add"}}], "refusal": None},
         "tool_calls", None, None, (0, 0)),
        ({"role": "assistant", "content": "x", "tool_calls": []}, "length", {"prompt_tokens": "5"},
         {"role": "assistant", "content": "x"}, (5, 0)),
        ({"role": "assistant", "content": None, "tool_calls": [CALL]}, "tool_calls", {"completion_tokens": None},
         {"role": "assistant", "content": None, "tool_calls": [CALL]}, (0, 0)),
        ({}, None, {"prompt_tokens": "many"}, {"role": "assistant", "content": None}, (0, 0)),
    ],
)  # fmt: skip
def test_a_reply_is_normalised_once(
    message: dict[str, Any], finish: str | None, usage: dict[str, Any] | None, expected_message: Any,
    expected_tokens: tuple[int, int],
) -> None:  # fmt: skip
    body: dict[str, Any] = {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    reply = reply_from_body(body)
    assert (reply.prompt_tokens, reply.completion_tokens) == expected_tokens
    assert reply.finish_reason == finish and reply.raw is body
    if expected_message is None:  # a tool call without an id or arguments gets them
        (call,) = reply.tool_calls
        assert call["id"].startswith("call_") and call["function"] == {"name": "add", "arguments": "{}"}
        assert call["type"] == "function" and reply.message["content"] is None
    else:
        assert reply.message == expected_message


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_both_transports_give_the_same_reply(transport: str) -> None:
    body = chat_completion(content=None, tool_calls=[tool_call("add", {"a": 1, "b": 2}, "call_9")], prompt_tokens=11,
                           completion_tokens=4)  # fmt: skip
    with ScriptedOpenAIServer(lambda _b: body) as server:
        request: Any = {"model": "openai/scripted", "api_base": server.base_url, "api_key": "k" * 8,
                        "messages": [{"role": "user", "content": "hi"}], "timeout": 5}  # fmt: skip
        client = HttpModelClient() if transport == "http" else LiteLLMClient()
        reply = client.complete(request)
    assert isinstance(reply, ModelReply)
    assert reply.message == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}]}
    assert (reply.finish_reason, reply.prompt_tokens, reply.completion_tokens) == ("tool_calls", 11, 4)
