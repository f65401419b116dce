"""The Remote Rollout wire, as the SDK 0.2.17 (`osmosis_ai.rollout`) names it: pydantic models of every body.

A trainer ("TrainGate") `POST`s a `RolloutRequest` to ``/v1/rollout/init`` and gets ``202`` with an
`InitResponse` (the rollout's tools, in the SDK's narrow `OpenAIFunctionToolSchema` shape); the rollout server
then `POST`s a `CompletionsRequest` to ``{server_url}/v1/chat/completions`` for every LLM turn (the trainer
answers with a `CompletionsResponse`) and finally a `RolloutResponse` to ``{server_url}/v1/rollout/completed``.
docs/contract.md §12 describes the protocol; these models are the one place its shapes are written down, for
the server (`osmosis_local.rollout.server`) and for trainer mode (`osmosis_local.rollout.trainer`) alike.

Where this differs from the reference: a `RolloutResponse` may carry ``reward`` (the SDK's `ctx.complete`
takes one), and the narrow tool model is produced from our lossless schemas by `narrow_tool` (which says what
it dropped) instead of being written by hand.
"""

from __future__ import annotations

import enum
import json
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MessageDict = dict[str, Any]
MAX_METADATA_BYTES = 1024 * 1024
MAX_ROLLOUT_ID_CHARS = 256


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- tools (the SDK's narrow shape) ----------------------------------------------------------------------


class OpenAIFunctionPropertySchema(_Wire):
    """One parameter: a string ``type``, an optional description and string ``enum`` (nothing else survives)."""

    type: str
    description: str | None = None
    enum: list[str] | None = None


class OpenAIFunctionParametersSchema(_Wire):
    type: str
    properties: dict[str, OpenAIFunctionPropertySchema]
    required: list[str]


def _empty_parameters() -> OpenAIFunctionParametersSchema:
    return OpenAIFunctionParametersSchema(type="object", properties={}, required=[])


class OpenAIFunctionSchema(_Wire):
    name: str
    description: str
    parameters: OpenAIFunctionParametersSchema = Field(default_factory=_empty_parameters)
    strict: bool = False


class OpenAIFunctionToolSchema(_Wire):
    type: str
    function: OpenAIFunctionSchema


# -- the rollout ------------------------------------------------------------------------------------------


class RolloutStatus(enum.StrEnum):
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"


class RolloutMetrics(_Wire):
    total_latency_ms: float = 0.0
    llm_latency_ms: float = 0.0
    tool_latency_ms: float = 0.0
    num_llm_calls: int = 0
    num_tool_calls: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    max_context_tokens: int = 0


def _http_url(value: str, what: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"{what} must use http or https")
    if not parsed.netloc:
        raise ValueError(f"{what} must have a host")
    return value


class RolloutRequest(_Wire):
    """``POST /v1/rollout/init``: start one rollout."""

    rollout_id: str = Field(min_length=1, max_length=MAX_ROLLOUT_ID_CHARS)
    server_url: str
    messages: list[MessageDict]
    completion_params: dict[str, Any] = Field(default_factory=dict)
    tool_server_url: str | None = None
    max_turns: int = 10
    max_tokens_total: int = 8192
    metadata: dict[str, Any] = Field(default_factory=dict)
    api_key: str | None = Field(default=None, repr=False)
    idempotency_key: str | None = None

    @field_validator("rollout_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("rollout_id cannot be blank")
        return value

    @field_validator("server_url")
    @classmethod
    def _server_url(cls, value: str) -> str:
        return _http_url(value, "server_url")

    @field_validator("tool_server_url")
    @classmethod
    def _tool_server_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "tool_server_url")

    @model_validator(mode="after")
    def _metadata_size(self) -> RolloutRequest:
        if self.metadata:
            try:
                size = len(json.dumps(self.metadata).encode("utf-8"))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"metadata must be JSON serialisable: {exc}") from None
            if size > MAX_METADATA_BYTES:
                raise ValueError(f"metadata is {size} bytes of JSON; at most {MAX_METADATA_BYTES} are allowed")
        return self


class InitResponse(_Wire):
    """The ``202`` answer to an init: the tools of this rollout."""

    rollout_id: str
    tools: list[OpenAIFunctionToolSchema] = Field(default_factory=list)


class RolloutResponse(_Wire):
    """``POST {server_url}/v1/rollout/completed``: how the rollout ended (sent with ``exclude_none``)."""

    rollout_id: str
    status: RolloutStatus
    final_messages: list[MessageDict] = Field(default_factory=list)
    finish_reason: str | None = None
    error_message: str | None = None
    reward: float | None = None
    metrics: RolloutMetrics | None = None
    extra_fields: dict[str, Any] = Field(default_factory=dict)


# -- one LLM turn -------------------------------------------------------------------------------------------


class CompletionsRequest(_Wire):
    """``POST {server_url}/v1/chat/completions``: the whole history so far (append-only), no ``tools``."""

    model: str = "default"
    messages: list[MessageDict]
    rollout_id: str = Field(min_length=1, max_length=MAX_ROLLOUT_ID_CHARS)
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: list[str] | None = None
    logprobs: bool = True


class CompletionsChoice(_Wire):
    index: int = 0
    message: MessageDict
    finish_reason: str = "stop"


class CompletionUsage(_Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class CompletionsResponse(_Wire):
    """The trainer's answer: an OpenAI chat completion plus optional token ids and logprobs (for training)."""

    id: str
    object: str = "chat.completion"
    created: int
    model: str = "default"
    choices: list[CompletionsChoice] = Field(min_length=1)
    usage: CompletionUsage | None = None
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None
