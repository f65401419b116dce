"""`LocalEngine` request handling, driven by a scripted stand-in for llama.cpp.

`ScriptedLlamaDouble` is a test double for `xllamacpp.Server`: it returns canned raw completions in
order and records the requests the engine built, so we can check what is asked of llama.cpp and
how its replies become OpenAI responses. The real model is covered by the integration test.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from osmosis_local.local_model.constraints import FREE_TEXT_GRAMMAR
from osmosis_local.local_model.engine import EngineRequestError, LocalEngine

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {
    "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}}}]
SYSTEM = {"role": "system", "content": "End with #### <number>."}
USER = {"role": "user", "content": "2 + 3?"}


def raw(content: str, finish: str = "stop", prompt: int = 10, completion: int = 5) -> dict[str, Any]:
    return {"choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}


class ScriptedLlamaDouble:
    """Test double for xllamacpp.Server: canned replies in order, requests recorded."""

    def __init__(self, *replies: dict[str, Any], delay_s: float = 0.0) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.delay_s = delay_s
        self.active = 0
        self.max_active = 0
        self._guard = threading.Lock()

    def handle_chat_completions(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._guard:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.requests.append(request)
            reply = self.replies.pop(0) if self.replies else raw("ok")
        time.sleep(self.delay_s)
        with self._guard:
            self.active -= 1
        return reply


def engine(*replies: dict[str, Any], **kwargs: Any) -> tuple[LocalEngine, ScriptedLlamaDouble]:
    backend = ScriptedLlamaDouble(*replies, **kwargs)
    return LocalEngine(backend, model_name="local/test", n_ctx=2048), backend


def test_a_tool_decision_becomes_an_openai_tool_call() -> None:
    eng, backend = engine(raw('{"name": "add", "arguments": {"a": 2, "b": 3}}', prompt=120, completion=17))

    reply = eng.chat_completion({"model": "local/test", "messages": [SYSTEM, USER], "tools": TOOLS})

    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "add" and json.loads(call["function"]["arguments"]) == {"a": 2, "b": 3}
    assert reply["usage"] == {"prompt_tokens": 120, "completion_tokens": 17, "total_tokens": 137}
    assert reply["object"] == "chat.completion" and reply["model"] == "local/test"
    (sent,) = backend.requests
    assert sent["grammar"].startswith("%llguidance {}\nstart: %json ")
    assert sent["temperature"] == 0.0  # unset temperature means greedy
    assert "tools" not in sent  # the protocol replaces llama.cpp's own tool handling
    assert "# Tools" in sent["messages"][0]["content"]


def test_a_final_answer_is_rewritten_as_prose_in_the_system_prompts_format() -> None:
    eng, backend = engine(
        raw('{"name": "final_answer", "arguments": {"answer": "5"}}', prompt=200, completion=12),
        raw("#### 5", prompt=230, completion=4),
    )
    history = [SYSTEM, USER,
               {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                     "function": {"name": "add", "arguments": '{"a":2,"b":3}'}}]},
               {"role": "tool", "tool_call_id": "c1", "content": "5"}]

    reply = eng.chat_completion({"messages": history, "tools": TOOLS, "max_tokens": 100, "seed": 7})

    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "#### 5"}
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"] == {"prompt_tokens": 430, "completion_tokens": 16, "total_tokens": 446}
    decision, prose = backend.requests
    assert prose["grammar"] == FREE_TEXT_GRAMMAR
    assert prose["messages"][-2]["content"] == '{"name": "final_answer", "arguments": {"answer": "5"}}'
    assert prose["max_tokens"] == 100 - 12  # what is left of the caller's budget
    assert decision["seed"] == prose["seed"] == 7


def test_an_empty_prose_reply_falls_back_to_the_chosen_answer() -> None:
    eng, _ = engine(raw('{"name": "final_answer", "arguments": {"answer": "#### 5"}}'), raw("  "))
    reply = eng.chat_completion({"messages": [USER], "tools": TOOLS})
    assert reply["choices"][0]["message"]["content"] == "#### 5"


@pytest.mark.parametrize("cut", ["decision", "prose"])
def test_a_length_stop_is_reported_as_length(cut: str) -> None:
    replies = ([raw('{"name": "add", "argu', finish="length")] if cut == "decision"
               else [raw('{"name": "final_answer", "arguments": {"answer": "5"}}'), raw("The answer", finish="length")])
    eng, _ = engine(*replies)

    reply = eng.chat_completion({"messages": [USER], "tools": TOOLS, "max_tokens": 8})

    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["choices"][0]["message"].get("tool_calls") is None


@pytest.mark.parametrize(
    ("tool_choice", "branches"),
    [("auto", ["add", "final_answer"]), (None, ["add", "final_answer"]), ("required", ["add"]),
     ({"type": "function", "function": {"name": "add"}}, ["add"])],
)
def test_tool_choice_shapes_the_grammar(tool_choice: Any, branches: list[str]) -> None:
    eng, backend = engine(raw('{"name": "add", "arguments": {"a": 1, "b": 1}}'))
    eng.chat_completion({"messages": [USER], "tools": TOOLS, "tool_choice": tool_choice})
    schema = json.loads(backend.requests[0]["grammar"].splitlines()[1].removeprefix("start: %json "))
    assert [b["properties"]["name"]["const"] for b in schema.get("anyOf", [schema])] == branches


def test_tool_choice_none_answers_in_plain_text() -> None:
    eng, backend = engine(raw("Five."))
    reply = eng.chat_completion({"messages": [USER], "tools": TOOLS, "tool_choice": "none"})
    assert reply["choices"][0]["message"]["content"] == "Five."
    assert "grammar" not in backend.requests[0]


def test_response_format_constrains_a_plain_request() -> None:
    judge = {"type": "object", "properties": {"score": {"type": "number"}, "explanation": {"type": "string"}},
             "required": ["score", "explanation"], "additionalProperties": False}
    eng, backend = engine(raw('{"score": 0.9, "explanation": "ok"}'))

    reply = eng.chat_completion({"messages": [SYSTEM, USER], "temperature": 0.3, "max_tokens": 64, "stop": ["\n\n"],
                                 "response_format": {"type": "json_schema",
                                                     "json_schema": {"name": "r", "schema": judge}}})

    assert json.loads(reply["choices"][0]["message"]["content"]) == {"score": 0.9, "explanation": "ok"}
    (sent,) = backend.requests
    assert json.loads(sent["grammar"].splitlines()[1].removeprefix("start: %json "))["required"] == [
        "score", "explanation"]
    assert (sent["temperature"], sent["max_tokens"]) == (0.3, 64)
    assert "stop" not in sent  # a stop string could cut the JSON short
    assert sent["messages"] == [SYSTEM, USER]


def test_a_context_overflow_is_an_openai_context_length_error() -> None:
    eng, _ = engine({"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 9000,
                               "message": "request exceeds the available context size"}})
    with pytest.raises(EngineRequestError, match="maximum context length is 2048 tokens.*9000") as info:
        eng.chat_completion({"messages": [USER]})
    assert (info.value.status, info.value.code) == (400, "context_length_exceeded")


def test_other_backend_failures_are_server_errors() -> None:
    eng, _ = engine({"error": {"message": "boom"}})
    with pytest.raises(EngineRequestError, match="The embedded model failed: boom") as info:
        eng.chat_completion({"messages": [USER]})
    assert (info.value.status, info.value.kind) == (500, "server_error")


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({}, "'messages' must be a non-empty list"),
        ({"messages": []}, "'messages' must be a non-empty list"),
        ({"messages": ["hi"]}, "'messages' must be a non-empty list"),
        ({"messages": [USER], "stream": True}, "Streaming is not supported"),
        ({"messages": [USER], "n": 2}, "send n=1"),
        ({"messages": [USER], "tools": {"add": 1}}, "'tools' must be a list"),
        ({"messages": [USER], "max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"messages": [USER], "temperature": "hot"}, "temperature must be a number"),
        ({"messages": [USER], "response_format": {"type": "yaml"}}, "Unsupported response_format type 'yaml'"),
        ({"messages": [USER], "tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
         "tool_choice names 'nope'"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(request_body: dict[str, Any], message: str) -> None:
    eng, backend = engine()
    with pytest.raises(EngineRequestError, match=message) as info:
        eng.chat_completion(request_body)
    assert info.value.status == 400
    assert backend.requests == []


def test_requests_are_serialised() -> None:
    eng, backend = engine(delay_s=0.05)
    threads = [threading.Thread(target=eng.chat_completion, args=({"messages": [USER]},)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.requests) == 4
    assert backend.max_active == 1
