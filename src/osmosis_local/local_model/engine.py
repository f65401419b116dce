"""`LocalEngine`: OpenAI chat completions from the embedded GGUF model, tool calls included.

llama.cpp (through xllamacpp) does the decoding; this module decides *what* is decoded. With tools
offered, each request is one constrained "decision" turn (call a tool, or answer; see
`tool_protocol`) and, when the model answers, one short prose turn that writes the reply in the
format the system prompt asks for. Requests are serialised by one lock: on a 2-core laptop parallel
decoding only slows every request down, and serial requests keep llama.cpp's prompt cache warm (the
next turn of a conversation only pays for its new tokens).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from osmosis_local.local_model import tool_protocol as tp
from osmosis_local.local_model.constraints import (
    FREE_TEXT_GRAMMAR,
    ResponseFormatError,
    json_grammar,
    response_format_schema,
)
from osmosis_local.local_model.errors import LocalModelError
from osmosis_local.local_model.registry import LocalModelSpec
from osmosis_local.types import chat_completion_body

DEFAULT_MAX_TOKENS = 1024
DECISION_MAX_TOKENS = 512
SAMPLING_KEYS = ("seed", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty")


class ChatBackend(Protocol):
    """What the engine needs from llama.cpp: one raw chat completion (xllamacpp.Server has it)."""

    def handle_chat_completions(self, request: dict[str, Any]) -> dict[str, Any]: ...


class EngineRequestError(LocalModelError):
    """A request the engine refuses or cannot serve, with the HTTP status and OpenAI error code."""

    def __init__(self, message: str, *, status: int = 400, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.kind = kind


def default_threads() -> int:
    """`$OSMOSIS_LOCAL_THREADS`, else the cores this process may run on."""
    explicit = os.environ.get("OSMOSIS_LOCAL_THREADS", "").strip()
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load_backend(model_path: Path, *, n_ctx: int, n_threads: int) -> ChatBackend:
    """Load the GGUF into an in-process llama.cpp server (quiet, one slot, loopback only)."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise LocalModelError(
            "The embedded model needs the llama.cpp bindings (xllamacpp). "
            "Install the extra: pip install '.[local]' -c constraints.txt"
        ) from exc
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.verbosity = -1
    params.hostnames = ["127.0.0.1"]
    return xllamacpp.Server(params)


class LocalEngine:
    """OpenAI-style chat completions over one loaded model; thread-safe, one request at a time."""

    def __init__(self, backend: ChatBackend, *, model_name: str, n_ctx: int, load_seconds: float = 0.0) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self.model_name = model_name
        self.n_ctx = n_ctx
        self.load_seconds = load_seconds

    @classmethod
    def load(cls, spec: LocalModelSpec, *, model_path: Path | None = None, n_ctx: int | None = None,
             n_threads: int | None = None, progress: bool = True) -> LocalEngine:
        """Assemble/verify the weights if needed, then load them (a few seconds)."""
        from osmosis_local.local_model.weights import ensure_weights

        path = model_path or ensure_weights(spec, progress=progress)
        ctx = n_ctx or spec.n_ctx
        started = time.perf_counter()
        backend = load_backend(path, n_ctx=ctx, n_threads=n_threads or default_threads())
        return cls(backend, model_name=spec.name, n_ctx=ctx, load_seconds=time.perf_counter() - started)

    def chat_completion(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Serve one OpenAI chat-completion request (non-streaming) and return the response dict."""
        messages, tools = _validate(request)
        with self._lock:
            if tools and request.get("tool_choice") != "none":
                return self._tool_turn(request, messages, tools)
            rendered = tp.render_messages(messages, None)
            raw = self._call(request, rendered, _plain_grammar(request), _max_tokens(request, DEFAULT_MAX_TOKENS))
            content = _content(raw)
            return self._response(request, content, [], _finish(raw), [raw])

    def _tool_turn(self, request: Mapping[str, Any], messages: list[dict[str, Any]],
                   tools: list[dict[str, Any]]) -> dict[str, Any]:
        offered, allow_final = _apply_tool_choice(tools, request.get("tool_choice"))
        rendered = tp.render_messages(messages, offered)
        budget = _max_tokens(request, DEFAULT_MAX_TOKENS)
        grammar = tp.turn_grammar(offered, allow_final=allow_final)
        decision = self._call(request, rendered, grammar, min(budget, DECISION_MAX_TOKENS))
        text = _content(decision)
        if _finish(decision) == "length":
            return self._response(request, text, [], "length", [decision])
        parsed = tp.parse_turn(text, offered)
        if parsed.tool_calls:
            return self._response(request, parsed.content, parsed.tool_calls, "tool_calls", [decision])
        remaining = max(1, budget - _usage(decision)[1])
        reply = self._call(request, tp.final_reply_messages(rendered, text),
                           _plain_grammar(request) or FREE_TEXT_GRAMMAR, remaining)
        content = _content(reply).strip() or (parsed.content or "")
        return self._response(request, content, [], _finish(reply), [decision, reply])

    def _call(self, request: Mapping[str, Any], messages: list[dict[str, str]], grammar: str | None,
              max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens,
                                "temperature": _temperature(request), "stream": False}
        body.update({key: request[key] for key in SAMPLING_KEYS if request.get(key) is not None})
        if request.get("stop") is not None and grammar in (None, FREE_TEXT_GRAMMAR):
            body["stop"] = request["stop"]
        if grammar:
            body["grammar"] = grammar
        raw = self._backend.handle_chat_completions(body)
        error = raw.get("error") if isinstance(raw, dict) else None
        if error is not None or not isinstance(raw, dict) or not raw.get("choices"):
            raise _backend_error(error, self.n_ctx)
        return raw

    def _response(self, request: Mapping[str, Any], content: str | None, tool_calls: list[dict[str, Any]],
                  finish_reason: str, raws: list[dict[str, Any]]) -> dict[str, Any]:
        prompt = sum(_usage(raw)[0] for raw in raws)
        completion = sum(_usage(raw)[1] for raw in raws)
        return chat_completion_body(
            content=content, tool_calls=tool_calls, finish_reason=finish_reason,
            model=str(request.get("model") or self.model_name), prompt_tokens=prompt, completion_tokens=completion,
        )


def _validate(request: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise EngineRequestError("'messages' must be a non-empty list of message objects.")
    if request.get("stream"):
        raise EngineRequestError("Streaming is not supported by the embedded model; send stream=false.")
    if (request.get("n") or 1) != 1:
        raise EngineRequestError("The embedded model returns one choice; send n=1.")
    tools = request.get("tools") or []
    if not isinstance(tools, list):
        raise EngineRequestError("'tools' must be a list of function tools.")
    temperature = request.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))):
        raise EngineRequestError("temperature must be a number.")
    try:
        response_format_schema(request.get("response_format"))
    except ResponseFormatError as exc:
        raise EngineRequestError(str(exc)) from exc
    _max_tokens(request, DEFAULT_MAX_TOKENS)
    return messages, tools if tp.tool_functions(tools) else []


def _apply_tool_choice(tools: list[dict[str, Any]], choice: Any) -> tuple[list[dict[str, Any]], bool]:
    """OpenAI `tool_choice`: auto (call or answer), required (must call), or one named function."""
    if choice == "required":
        return tools, False
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        named = [t for t in tools if (t.get("function") or {}).get("name") == name]
        if not named:
            raise EngineRequestError(f"tool_choice names {name!r}, which is not among the offered tools.")
        return named, False
    return tools, True


def _plain_grammar(request: Mapping[str, Any]) -> str | None:
    schema = response_format_schema(request.get("response_format"))
    return json_grammar(schema) if schema is not None else None


def _max_tokens(request: Mapping[str, Any], default: int) -> int:
    value = request.get("max_completion_tokens") or request.get("max_tokens")
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise EngineRequestError("max_tokens must be a positive integer.")
    return value


def _temperature(request: Mapping[str, Any]) -> float:
    """Unset means greedy (0): reproducible runs matter more here than OpenAI's default of 1."""
    value = request.get("temperature")
    return 0.0 if value is None else float(value)


def _content(raw: dict[str, Any]) -> str:
    return str(raw["choices"][0].get("message", {}).get("content") or "")


def _finish(raw: dict[str, Any]) -> str:
    return "length" if raw["choices"][0].get("finish_reason") == "length" else "stop"


def _usage(raw: dict[str, Any]) -> tuple[int, int]:
    usage = raw.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _backend_error(error: Any, n_ctx: int) -> EngineRequestError:
    detail = error if isinstance(error, dict) else {"message": str(error or "no choices returned")}
    message = str(detail.get("message") or "unknown error")
    if detail.get("type") == "exceed_context_size_error":
        return EngineRequestError(
            f"This model's maximum context length is {n_ctx} tokens, but the request needs "
            f"{detail.get('n_prompt_tokens', 'more')} (context_length_exceeded). Shorten the conversation.",
            status=400, code="context_length_exceeded",
        )
    code = detail.get("code")
    status = code if isinstance(code, int) else 500
    kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    return EngineRequestError(f"The embedded model failed: {message}", status=status, kind=kind)
