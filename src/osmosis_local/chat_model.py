"""The policy model as the agent loop sees it: one litellm chat call per turn, retried, normalised.

Only the arguments the user set are sent (temperature, max_tokens, and the run's seed);
``drop_params`` (in llm_call) keeps a provider that rejects one of them from failing every row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from osmosis_local.agent_loop import ChatTurn
from osmosis_local.llm_call import RetryPolicy, acompletion_with_retry, usage_of


@dataclass(frozen=True)
class ChatModelConfig:
    """Everything needed to call one model; ``api_key`` is never printed or written."""

    litellm_model: str
    display_name: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float = 120.0
    retry: RetryPolicy = RetryPolicy()


class LiteLLMChatModel:
    """`ChatModel` backed by litellm: one retried chat call per turn."""

    def __init__(self, config: ChatModelConfig) -> None:
        self.config = config

    def _request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None
    ) -> dict[str, Any]:
        cfg = self.config
        request: dict[str, Any] = {"model": cfg.litellm_model, "messages": messages, "timeout": cfg.timeout_s}
        if tools:
            request["tools"] = tools
        if cfg.api_base:
            request["api_base"] = cfg.api_base
        if cfg.api_key:
            request["api_key"] = cfg.api_key
        for key in ("temperature", "max_tokens"):
            value = getattr(cfg, key)
            if value is not None:
                request[key] = value
        if seed is not None:
            request["seed"] = seed
        return request

    async def chat(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None = None
    ) -> ChatTurn:
        response = await acompletion_with_retry(
            self._request(messages, tools, seed=seed), policy=self.config.retry, secrets=[self.config.api_key]
        )
        prompt_tokens, completion_tokens = usage_of(response)
        choice = response.choices[0]
        return ChatTurn(
            message=normalise_assistant_message(choice.message),
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    async def preflight(self) -> None:
        """One tiny real request so a bad key or URL stops the run before any row."""
        request = self._request([{"role": "user", "content": "hi"}], [], seed=None)
        request["max_tokens"] = 1
        await acompletion_with_retry(request, policy=self.config.retry, secrets=[self.config.api_key])


def normalise_assistant_message(message: Any) -> dict[str, Any]:
    """A provider message as a plain, resendable OpenAI dict: role, content, tool_calls (no nulls)."""
    get = message.get if isinstance(message, dict) else lambda k, d=None: getattr(message, k, d)
    out: dict[str, Any] = {"role": "assistant", "content": get("content")}
    calls = []
    for call in get("tool_calls") or []:
        cget = call.get if isinstance(call, dict) else lambda k, d=None, c=call: getattr(c, k, d)
        function = cget("function")
        fget = function.get if isinstance(function, dict) else lambda k, d=None, f=function: getattr(f, k, d)
        calls.append(
            {
                "id": cget("id") or f"call_{uuid.uuid4().hex[:10]}",
                "type": "function",
                "function": {"name": fget("name") or "", "arguments": fget("arguments") or "{}"},
            }
        )
    if calls:
        out["tool_calls"] = calls
    return out
