"""The model-client seam: `ModelClient` (one chat-completion call, retried) and the `ModelReply` it returns.

Two clients implement it: `HttpModelClient` (plain HTTP to an OpenAI-compatible URL) and `LiteLLMClient`
(providers that need litellm's translation); `osmosis_local.llm.transport` chooses between them, in one
place. Whatever the transport, a reply is normalised here, once, into a `ModelReply`: the assistant message
as a resendable OpenAI dict, the finish reason, the token counts, and the response body as JSON.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from osmosis_local.llm.retry import DEFAULT_RETRY, OnRetry, RetryPolicy
from osmosis_local.safe_text import clean, clean_tree, safe_str
from osmosis_local.types import AssistantMessage, CompletionRequest, ContentPart, ToolCall

Transport = Literal["http", "litellm"]
NO_KEY = "no-key-needed"  # the placeholder key of a --base-url endpoint that needs none


@dataclass(slots=True)
class ModelReply:
    """One assistant reply, normalised whatever the transport."""

    message: AssistantMessage
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the response body, as JSON

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.get("tool_calls") or []


def _count(value: Any) -> int:
    """A token count as the endpoint sent it: a whole number >= 0 (anything else, negative included, is 0)."""
    if isinstance(value, bool):
        return 0
    try:
        count = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return count if count > 0 else 0


def _content(value: Any) -> str | list[ContentPart] | None:
    """Content as OpenAI allows it: a string, a list of parts (kept, cleaned), or None; anything else as text."""
    if value is None or isinstance(value, str):
        return clean(value) if isinstance(value, str) else None
    if isinstance(value, list):
        return [clean_tree(part) for part in value if isinstance(part, dict)]
    return safe_str(value)


def _arguments(value: Any) -> str:
    """Tool-call arguments as the JSON text OpenAI specifies (an object an endpoint sent is encoded)."""
    if isinstance(value, str):
        return clean(value) or "{}"
    if value is None:
        return "{}"
    try:
        return json.dumps(clean_tree(value), ensure_ascii=False)
    except (TypeError, ValueError):
        return safe_str(value)


def assistant_message(message: Mapping[str, Any]) -> AssistantMessage:
    """A provider message as a plain, resendable OpenAI dict: role, content, tool_calls (no nulls).

    Normalised here, once, whatever the endpoint sent: lone surrogates become U+FFFD, arguments sent as an object
    become its JSON text, and ``tool_calls`` that is not a list of objects is no tool call at all.
    """
    out: AssistantMessage = {"role": "assistant", "content": _content(message.get("content"))}
    calls: list[ToolCall] = []
    raw_calls = message.get("tool_calls")
    for call in raw_calls if isinstance(raw_calls, list) else []:
        if not isinstance(call, dict):
            continue
        raw_function = call.get("function")
        function: dict[str, Any] = raw_function if isinstance(raw_function, dict) else {}
        name = function.get("name")
        calls.append(
            {
                "id": safe_str(call.get("id")) if call.get("id") else f"call_{uuid.uuid4().hex[:10]}",
                "type": "function",
                "function": {
                    "name": safe_str(name) if name else "",
                    "arguments": _arguments(function.get("arguments")),
                },
            }
        )
    if calls:
        out["tool_calls"] = calls
    return out


def reply_from_body(body: dict[str, Any]) -> ModelReply:
    """The `ModelReply` of a chat-completion body (a 2xx answer that has a first choice)."""
    choice = body["choices"][0]
    raw_usage, raw_message = body.get("usage"), choice.get("message")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    finish = choice.get("finish_reason")
    return ModelReply(
        message=assistant_message(message),
        finish_reason=safe_str(finish) if finish is not None else None,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        raw=body,
    )


class ModelClient(ABC):
    """One way to reach a model: a chat-completion call with retries, async or blocking.

    ``secrets`` are redacted from every error text; ``on_retry`` hears of each retry.
    """

    transport: Transport

    @abstractmethod
    async def acomplete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        """The reply, or `LLMCallError` once the retries are spent."""

    @abstractmethod
    def complete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        """Blocking twin of `acomplete` (the SDK's synchronous `evaluate_rubric`)."""

    async def aclose(self) -> None:  # noqa: B027 - a no-op unless the client holds connections
        """Release connections."""
