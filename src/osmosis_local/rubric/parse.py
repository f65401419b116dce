"""Reading the judge's reply leniently, then validating it strictly.

The SDK only strips ``<think>`` blocks and one surrounding code fence before ``json.loads``. Small and
reasoning models are messier, so this module also accepts, in order: the whole text as JSON; the first
fenced block that parses; the first balanced ``{...}`` object holding a ``score`` key found anywhere in
the prose; and, when the text yields nothing, a reply sent as a tool call
(``tool_calls[0].function.arguments``). A score given as a numeric string (``"0.8"``) is accepted.
Validation stays strict: a bool, NaN or infinite score, or a blank explanation is rejected, never
guessed. Every failure is a `JudgeReplyError` that the caller turns into ``ProviderRequestError``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from osmosis_local.types import content_text

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)


class JudgeReplyError(ValueError):
    """The judge answered, but not with a usable ``{score, explanation}`` object."""


@dataclass(frozen=True)
class Verdict:
    score: float
    explanation: str


def strip_thinking(text: str) -> str:
    """Drop ``<think>…</think>`` blocks, and everything before a stray ``</think>`` (template-opened)."""
    text = _THINK_BLOCK.sub("", text)
    closing = text.lower().rfind("</think>")
    if closing != -1:
        text = text[closing + len("</think>") :]
    return text.strip()


def _objects_in(text: str) -> list[Any]:
    """JSON values to consider, best first: the whole text, fenced blocks, then embedded objects."""
    found: list[Any] = []
    try:
        found.append(json.loads(text))
    except json.JSONDecodeError:
        pass
    for fenced in _FENCE.findall(text):
        try:
            found.append(json.loads(fenced.strip()))
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "score" in value:
            found.append(value)
            break
    return found


def _score_of(raw: Any) -> float:
    if isinstance(raw, bool):
        raise JudgeReplyError(f"'score' must be a number, got a boolean ({raw}).")
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise JudgeReplyError(f"'score' must be a number, got the string {raw[:40]!r}.") from None
    elif isinstance(raw, (int, float)):
        value = float(raw)
    else:
        raise JudgeReplyError(f"The reply must include a numeric 'score', got {type(raw).__name__}.")
    if not math.isfinite(value):
        raise JudgeReplyError(f"'score' must be a finite number, got {value}.")
    return value


def verdict_from_object(obj: Any) -> Verdict:
    """Validate one decoded JSON value as the judge's answer."""
    if not isinstance(obj, dict):
        raise JudgeReplyError(f"The reply must be a JSON object, got {type(obj).__name__}.")
    if "score" not in obj:
        raise JudgeReplyError("The reply JSON has no 'score' key.")
    score = _score_of(obj["score"])
    explanation = obj.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        raise JudgeReplyError("The reply must include a non-empty 'explanation' string.")
    return Verdict(score=score, explanation=explanation.strip())


def verdict_from_text(text: str) -> Verdict:
    """The verdict in free text, or `JudgeReplyError` describing why none was found."""
    cleaned = strip_thinking(text)
    if not cleaned:
        raise JudgeReplyError("The reply was empty (after removing <think> blocks).")
    candidates = _objects_in(cleaned)
    with_score = [c for c in candidates if isinstance(c, dict) and "score" in c]
    if with_score:
        return verdict_from_object(with_score[0])
    if candidates:
        return verdict_from_object(candidates[0])
    snippet = cleaned[:120].replace("\n", " ")
    raise JudgeReplyError(f"The reply contained no JSON object with a 'score' (starts with {snippet!r}).")


def verdict_from_response(raw: dict[str, Any]) -> Verdict:
    """Read ``choices[0].message`` of a dumped chat completion: its text first, then its first tool call."""
    choices = raw.get("choices") if isinstance(raw, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise JudgeReplyError("The response had no choices.")
    message = choices[0].get("message") or {}
    text = content_text(message.get("content"), separator="")
    tool_calls = message.get("tool_calls") or []
    arguments = None
    if tool_calls and isinstance(tool_calls[0], dict):
        arguments = (tool_calls[0].get("function") or {}).get("arguments")
    if not text.strip() and arguments is None:
        raise JudgeReplyError("The model response did not include any content.")
    first_error: JudgeReplyError | None = None
    for source in (text, arguments):
        if isinstance(source, dict):
            return verdict_from_object(source)
        if not isinstance(source, str) or not source.strip():
            continue
        try:
            return verdict_from_text(source)
        except JudgeReplyError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error
