"""The policy model as the agent loop sees it: `ChatModel` (one chat turn) and its endpoint implementation.

`EndpointChatModel` builds each turn's request (the whole history, the tools, the sampling parameters that
are set, the run's seed) and sends it through its `ModelClient`. `osmosis_local.llm.factory` makes one from a
model name; a Remote Rollout trainer answers turns through another implementation of the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from osmosis_local.config.settings import GenerateConfig
from osmosis_local.llm.base import ModelClient, ModelReply
from osmosis_local.llm.retry import RetryPolicy
from osmosis_local.types import CompletionRequest, Message, SamplingParams, ToolSpec


class ChatModel(Protocol):
    """What the agent loop needs from a model: one chat turn."""

    async def chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        *,
        seed: int | None = None,
        params: SamplingParams | None = None,
    ) -> ModelReply: ...


@dataclass(frozen=True)
class ModelSettings:
    """Everything needed to call one model; ``api_key`` is never printed or written."""

    litellm_model: str  # provider/model, or openai/<name> for an OpenAI-compatible URL
    display_name: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    generate: GenerateConfig = GenerateConfig()
    timeout_s: float = 120.0
    retry: RetryPolicy = RetryPolicy()
    is_local: bool = False


class EndpointChatModel:
    """A `ChatModel` reached through a `ModelClient` (plain HTTP or litellm)."""

    def __init__(self, settings: ModelSettings, client: ModelClient) -> None:
        self.settings = settings
        self.client = client
        self._params = settings.generate.params()

    @property
    def display_name(self) -> str:
        return self.settings.display_name

    @property
    def api_key(self) -> str | None:
        return self.settings.api_key

    def request(
        self, messages: list[Message], tools: list[ToolSpec], *, seed: int | None, params: SamplingParams | None = None
    ) -> CompletionRequest:
        """The request of one turn: only the parameters that are set are sent (``params`` over the run's)."""
        s = self.settings
        request: CompletionRequest = {
            "model": s.litellm_model, "messages": messages, "timeout": s.timeout_s, **self._params, **(params or {})
        }  # fmt: skip
        if tools:
            request["tools"] = tools
        if s.api_base:
            request["api_base"] = s.api_base
        if s.api_key:
            request["api_key"] = s.api_key
        if seed is not None:
            request["seed"] = seed
        return request

    async def chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        *,
        seed: int | None = None,
        params: SamplingParams | None = None,
    ) -> ModelReply:
        return await self.client.acomplete(
            self.request(messages, tools, seed=seed, params=params),
            policy=self.settings.retry,
            secrets=[self.settings.api_key],
        )

    async def preflight(self) -> None:
        """One tiny real request so a bad key or URL stops the run before any row."""
        request = self.request([{"role": "user", "content": "hi"}], [], seed=None)
        request["max_tokens"] = 1
        await self.client.acomplete(request, policy=self.settings.retry, secrets=[self.settings.api_key])

    async def aclose(self) -> None:
        await self.client.aclose()
