"""The OpenAI chat-completions wire shapes, in one place: messages, tool calls, tool specs, requests.

Every layer that handles a conversation (the agent loop, the model clients, the transcript, the judge, the
endpoints we serve: the embedded model and the scripted test doubles) uses these `TypedDict`s, so the type
checker follows a message from the model's reply to the transcript. They are plain dicts at run time: a
reply is normalised once, at the model-client seam (`osmosis_local.llm.base.reply_from_body`), and then
sent back to the model as is.

Also here, because our own endpoints and readers share them: `content_text` (a message's content as text,
whether a string or a list of parts), `chat_completion_body` (the response body our endpoints write) and
`copy_tree` (a deep copy of such data, for user code that may mutate what it is given).
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any, Literal, NotRequired, Required  # pydantic reads these on Python 3.11 too

from typing_extensions import TypedDict

__all__ = [
    "AssistantMessage",
    "CompletionRequest",
    "ContentPart",
    "FunctionCall",
    "FunctionSpec",
    "Message",
    "SamplingParams",
    "SystemMessage",
    "ToolCall",
    "ToolMessage",
    "ToolSpec",
    "UserMessage",
    "chat_completion_body",
    "content_text",
    "copy_tree",
]


class ContentPart(TypedDict, total=False):
    """One part of a list-valued ``content`` (``{"type": "text", "text": ...}``; images and audio too)."""

    type: Required[str]
    text: str


class SystemMessage(TypedDict):
    role: Literal["system"]
    content: str


class UserMessage(TypedDict):
    role: Literal["user"]
    content: str | list[ContentPart]


class FunctionCall(TypedDict):
    """The function of a tool call: its name and its arguments as the model wrote them (a JSON text)."""

    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class AssistantMessage(TypedDict):
    """A model's reply, normalised: role, content (None when it only calls tools), and its tool calls."""

    role: Literal["assistant"]
    content: str | list[ContentPart] | None
    tool_calls: NotRequired[list[ToolCall]]


class ToolMessage(TypedDict):
    role: Literal["tool"]
    content: str
    tool_call_id: str


Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage


class FunctionSpec(TypedDict, total=False):
    """A tool as the model is offered it: name, description, and its parameters' JSON Schema."""

    name: Required[str]
    description: str
    parameters: dict[str, Any]


class ToolSpec(TypedDict):
    type: Literal["function"]
    function: FunctionSpec


class SamplingParams(TypedDict, total=False):
    """The sampling parameters of a request, each present only when set (`GenerateConfig` validates them)."""

    max_tokens: int
    temperature: float
    top_p: float


class CompletionRequest(SamplingParams, total=False):
    """One chat-completion call, as both transports take it (litellm-style keywords).

    ``model`` is the litellm id: ``provider/model``, or ``openai/<name>`` for an OpenAI-compatible
    ``api_base``. Optional parameters are present only when set.
    """

    model: Required[str]
    messages: Required[list[Message]]
    timeout: float
    api_base: str
    api_key: str
    tools: list[ToolSpec]
    seed: int
    reasoning_effort: Any
    response_format: dict[str, Any]
    drop_params: bool


def copy_tree(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples of str/number/bool/None), 5-10x faster than
    `copy.deepcopy`; anything else inside is deep-copied by `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {key: copy_tree(item) for key, item in value.items()}
    if kind is list:
        return [copy_tree(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is tuple:
        return tuple(copy_tree(item) for item in value)
    return copy.deepcopy(value)


def content_text(content: Any, *, separator: str = "\n") -> str:
    """Message ``content`` as plain text: a string as is, the text parts of a list joined, else ``""``.

    OpenAI allows ``content`` to be a list of parts (``[{"type": "text", "text": ...}, ...]``);
    parts without a string ``text`` (images, audio) are skipped. A JSON reply split across parts
    reads back whole with ``separator=""``.
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return separator.join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def chat_completion_body(
    *,
    content: str | None,
    tool_calls: list[ToolCall] | list[dict[str, Any]] | None,
    finish_reason: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """A ``chat.completion`` response with one choice; ``tool_calls`` is left out when empty."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
