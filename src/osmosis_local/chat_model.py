"""The policy model as the agent loop sees it: one litellm chat call per turn, retried, normalised.

Only the arguments the user set are sent (contract §5: temperature/max_tokens/seed forwarded only if
given); ``drop_params`` (in llm_call) keeps a provider that rejects one of them from failing every row.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from osmosis_local.agent_loop import ChatModel, ChatTurn
from osmosis_local.llm_call import LLMCallError, RetryPolicy, acompletion_with_retry, usage_of


@dataclass(frozen=True)
class ChatModelConfig:
    """Everything needed to call one model; ``api_key`` is never printed or written."""

    litellm_model: str
    display_name: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    timeout_s: float = 120.0
    retry: RetryPolicy = RetryPolicy()


class LiteLLMChatModel:
    """`ChatModel` backed by litellm; counts retries so the report can show them."""

    def __init__(self, config: ChatModelConfig, *, on_retry: Callable[[LLMCallError, int, float], None] | None = None) -> None:
        self.config = config
        self.retries = 0
        self._on_retry = on_retry

    def for_run(self, run_index: int) -> ChatModel:
        """This model for run ``run_index`` of a row: with ``--seed S`` it sends ``S + run_index``.

        One seed for every run would make the n runs of a row identical on a provider that honours
        it, and pass@k meaningless; S + k keeps them different and each one replayable.
        """
        if self.config.seed is None or run_index == 0:
            return self
        return _SeededRun(self, self.config.seed + run_index)

    def _request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None = None) -> dict[str, Any]:
        cfg = self.config
        request: dict[str, Any] = {"model": cfg.litellm_model, "messages": messages, "timeout": cfg.timeout_s}
        if tools:
            request["tools"] = tools
        if cfg.api_base:
            request["api_base"] = cfg.api_base
        if cfg.api_key:
            request["api_key"] = cfg.api_key
        for key in ("temperature", "max_tokens", "seed"):
            value = getattr(cfg, key)
            if value is not None:
                request[key] = value
        if seed is not None:
            request["seed"] = seed
        return request

    def _count_retry(self, exc: LLMCallError, attempt: int, wait_s: float) -> None:
        self.retries += 1
        if self._on_retry is not None:
            self._on_retry(exc, attempt, wait_s)

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None = None) -> ChatTurn:
        started = time.perf_counter()
        response = await acompletion_with_retry(
            self._request(messages, tools, seed=seed),
            policy=self.config.retry,
            secrets=[self.config.api_key],
            on_retry=self._count_retry,
        )
        prompt_tokens, completion_tokens = usage_of(response)
        choice = response.choices[0]
        return ChatTurn(
            message=normalise_assistant_message(choice.message),
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def preflight(self) -> None:
        """One tiny real request so a bad key or URL stops the run before any row (contract §6)."""
        request = self._request([{"role": "user", "content": "hi"}], [])
        request["max_tokens"] = 1
        await acompletion_with_retry(request, policy=self.config.retry, secrets=[self.config.api_key])


class _SeededRun:
    """A `LiteLLMChatModel` seen by one run: same config and retry count, its own seed."""

    def __init__(self, model: LiteLLMChatModel, seed: int) -> None:
        self.model = model
        self.seed = seed

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        return await self.model.chat(messages, tools, seed=self.seed)


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
