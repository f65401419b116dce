"""The OpenAI chat-completions wire format, as our own endpoints write it and our readers read it.

Two endpoints answer chat completions here, the embedded model (``local_model``) and the scripted
test double (``scripted_server``), and three places read message content (the local model's prompt
builder, the scripted policy, the rubric judge's parser). One response builder and one content
reader keep them from drifting apart.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["chat_completion_body", "content_text"]


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
    tool_calls: list[dict[str, Any]] | None,
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
