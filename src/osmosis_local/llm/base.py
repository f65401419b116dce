"""The model-client seam: `ModelClient` (one chat-completion call, retried) and the `ModelReply` it returns.

Two clients implement it: `HttpModelClient` (plain HTTP to an OpenAI-compatible URL) and `LiteLLMClient`
(providers that need litellm's translation); `osmosis_local.llm.transport` chooses between them, in one
place. Whatever the transport, a reply is normalised here, once, into a `ModelReply`: the assistant message
as a resendable OpenAI dict, the finish reason, the token counts, and the response body as JSON.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from osmosis_local.llm.retry import DEFAULT_RETRY, OnRetry, RetryPolicy
from osmosis_local.types import AssistantMessage, CompletionRequest, ToolCall

Transport = Literal["http", "litellm"]


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
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def assistant_message(message: Mapping[str, Any]) -> AssistantMessage:
    """A provider message as a plain, resendable OpenAI dict: role, content, tool_calls (no nulls)."""
    out: AssistantMessage = {"role": "assistant", "content": message.get("content")}
    calls: list[ToolCall] = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        calls.append(
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:10]}",
                "type": "function",
                "function": {"name": function.get("name") or "", "arguments": function.get("arguments") or "{}"},
            }
        )
    if calls:
        out["tool_calls"] = calls
    return out


def reply_from_body(body: dict[str, Any]) -> ModelReply:
    """The `ModelReply` of a chat-completion body (a 2xx answer that has a first choice)."""
    choice = body["choices"][0]
    usage = body.get("usage") or {}
    return ModelReply(
        message=assistant_message(choice.get("message") or {}),
        finish_reason=choice.get("finish_reason"),
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
