"""The policy model as the agent loop sees it: one chat call per turn, retried, normalised.

`HttpChatModel` talks to OpenAI-compatible endpoints (``--base-url``, the embedded model) over plain HTTP
with one connection pool per model; `LiteLLMChatModel` goes through litellm for providers that need its
translation. Only the arguments the user set are sent (temperature, max_tokens, and the run's seed), and a
parameter a provider rejects is dropped rather than failing every row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from osmosis_local.llm.llm_call import RetryPolicy, acompletion_with_retry, usage_of
from osmosis_local.runner.agent_loop import ChatTurn


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
    connections: int = 0  # HTTP path: the connection pool's size (0: as many as in flight)


class _ChatModel:
    """One model: builds the request of each turn and reads the first choice of the answer."""

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
        if cfg.temperature is not None:
            request["temperature"] = cfg.temperature
        if cfg.max_tokens is not None:
            request["max_tokens"] = cfg.max_tokens
        if seed is not None:
            request["seed"] = seed
        return request

    async def _complete(self, request: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def chat(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None = None
    ) -> ChatTurn:
        response = await self._complete(self._request(messages, tools, seed=seed))
        prompt_tokens, completion_tokens = usage_of(response)
        message, finish_reason = _first_choice(response)
        return ChatTurn(
            message=normalise_assistant_message(message),
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    async def preflight(self) -> None:
        """One tiny real request so a bad key or URL stops the run before any row."""
        request = self._request([{"role": "user", "content": "hi"}], [], seed=None)
        request["max_tokens"] = 1
        await self._complete(request)

    async def aclose(self) -> None:
        """Release connections (a no-op for litellm)."""


class LiteLLMChatModel(_ChatModel):
    """`ChatModel` backed by litellm: every provider litellm knows, one retried call per turn."""

    async def _complete(self, request: dict[str, Any]) -> Any:
        return await acompletion_with_retry(
            request, policy=self.config.retry, secrets=[self.config.api_key], client="litellm"
        )


class HttpChatModel(_ChatModel):
    """`ChatModel` for an OpenAI-compatible URL over plain HTTP (aiohttp), one connection pool per model."""

    def __init__(self, config: ChatModelConfig) -> None:
        if not config.api_base:
            raise ValueError("HttpChatModel needs an api_base (an OpenAI-compatible URL)")
        super().__init__(config)
        self._session: Any = None
        import aiohttp  # noqa: F401  (now, so the preflight request goes out at once when set-up starts it)

    async def _complete(self, request: dict[str, Any]) -> Any:
        from osmosis_local.llm.openai_http import apost_chat, new_session

        if self._session is None:
            self._session = new_session(self.config.connections)
        return await apost_chat(request, session=self._session, policy=self.config.retry, secrets=[self.config.api_key])

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


ChatModel = LiteLLMChatModel | HttpChatModel


def _first_choice(response: Any) -> tuple[Any, str | None]:
    """(message, finish_reason) of ``choices[0]``, from a litellm object or a parsed JSON body."""
    if isinstance(response, dict):
        choice = response["choices"][0]
        return choice.get("message") or {}, choice.get("finish_reason")
    choice = response.choices[0]
    return choice.message, getattr(choice, "finish_reason", None)


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
