"""Lenient reading, strict validation of judge replies (pure functions, no network)."""

from __future__ import annotations

import pytest

from osmosis_local.rubric.parse import (
    JudgeReplyError,
    Verdict,
    strip_thinking,
    verdict_from_response,
    verdict_from_text,
)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"score": 1, "explanation": "e"}', 1.0),
        ('  {"score": 0.25, "explanation": "e"}  ', 0.25),
        ('```json\n{"score": 0.5, "explanation": "e"}\n```', 0.5),
        ('```JSON {"score": 0.5, "explanation": "e"}```', 0.5),
        ('Verdict:\n```\n{"score": 0.5, "explanation": "e"}\n```\nThanks.', 0.5),
        ('The answer is fine. {"score": 0.9, "explanation": "has } brace"} end', 0.9),
        ('{"note": "x"} then {"score": 0.3, "explanation": "second object has the score"}', 0.3),
        ('{"verdict": {"nested": 1}, "score": 0.6, "explanation": "e"}', 0.6),
        ('<think>\n{"score": 0.0, "explanation": "draft"}\n</think>{"score": 0.8, "explanation": "final"}', 0.8),
        ('reasoning opened by the template...</think>\n{"score": 0.4, "explanation": "e"}', 0.4),
        ('{"score": " 1e-1 ", "explanation": "e"}', 0.1),
        ('{"score": -2, "explanation": "negative passes here; clamping happens later"}', -2.0),
    ],
)
def test_lenient_reading(text: str, score: float) -> None:
    assert verdict_from_text(text).score == pytest.approx(score)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("<think>only thoughts</think>", "empty"),
        ("no json at all", "no JSON object"),
        ('{"score": 1, "explanation": "e"', "no JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"explanation": "missing score"}', "no 'score'"),
        ('{"score": false, "explanation": "e"}', "boolean"),
        ('{"score": Infinity, "explanation": "e"}', "finite"),
        ('{"score": "nan", "explanation": "e"}', "finite"),
        ('{"score": null, "explanation": "e"}', "numeric 'score'"),
        ('{"score": 1}', "explanation"),
        ('{"score": 1, "explanation": 5}', "explanation"),
    ],
)
def test_strict_validation(text: str, message: str) -> None:
    with pytest.raises(JudgeReplyError, match=message):
        verdict_from_text(text)


def test_explanation_is_stripped() -> None:
    assert verdict_from_text('{"score": 1, "explanation": "  fine \\n"}') == Verdict(1.0, "fine")


def _response(content=None, arguments=None) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if arguments is not None:
        message["tool_calls"] = [{"type": "function", "function": {"name": "emit", "arguments": arguments}}]
    return {"choices": [{"message": message}]}


def test_tool_call_arguments_are_used_when_the_text_has_no_verdict() -> None:
    assert verdict_from_response(_response(None, '{"score": 0.7, "explanation": "tool"}')).score == 0.7
    assert verdict_from_response(_response("Calling the tool now.", '{"score": 0.2, "explanation": "t"}')).score == 0.2


def test_content_parts_are_joined() -> None:
    parts = [{"type": "text", "text": '{"score": 1, '}, {"type": "text", "text": '"explanation": "e"}'}]
    assert verdict_from_response(_response(parts)).score == 1.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"choices": []}, "no choices"),
        (_response(None), "did not include any content"),
        (_response("garbage", "also garbage"), "no JSON object"),
    ],
)
def test_unusable_responses(raw: dict, message: str) -> None:
    with pytest.raises(JudgeReplyError, match=message):
        verdict_from_response(raw)


def test_strip_thinking_is_case_insensitive() -> None:
    assert strip_thinking("<THINK>x</THINK> answer") == "answer"
