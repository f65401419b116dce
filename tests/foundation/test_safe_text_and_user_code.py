"""The foundation's guards, as properties over their whole input class (hypothesis) and as tables:
`safe_text` (any text becomes writable, printable, bounded), `user_code` (any exception, exit or hang in user
code becomes a per-call error), the model-client seam's normalisation, and statistics that never overflow."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osmosis_local.llm.base import assistant_message, reply_from_body
from osmosis_local.log.stats import finite_mean, paired_comparison, summarize
from osmosis_local.safe_text import bounded, clean, clean_tree, model_json, safe_str, strip_controls
from osmosis_local.user_code import UserCodeError, UserCodeTimeout, call_user

ANY_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))  # lone surrogates too


@given(ANY_TEXT)
def test_clean_text_always_encodes_as_utf8_and_keeps_every_valid_character(text: str) -> None:
    cleaned = clean(text)
    cleaned.encode("utf-8")
    assert len(cleaned) == len(text)
    assert all(a == b or (0xD800 <= ord(a) <= 0xDFFF and b == "\ufffd") for a, b in zip(text, cleaned, strict=True))


@given(st.recursive(ANY_TEXT | st.integers() | st.none(),
                    lambda inner: st.lists(inner) | st.dictionaries(ANY_TEXT, inner), max_leaves=20))  # fmt: skip
def test_clean_tree_makes_any_json_shape_serialisable(value: Any) -> None:
    json.dumps(clean_tree(value), ensure_ascii=False).encode("utf-8")


@given(ANY_TEXT)
def test_stripped_text_holds_no_escape_or_control_character_but_newlines_and_tabs(text: str) -> None:
    stripped = strip_controls(text)
    assert not any(ord(c) < 0x20 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F for c in stripped)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2Jcleared", "cleared"),
        ("\x1b]0;title\x07after", "after"),
        ("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("bell\x07 and \x9b31m C1", "bell and 31m C1"),
        ("line\nnext\ttab", "line\nnext\ttab"),
    ],
)
def test_terminal_control_sequences_are_removed(text: str, shown: str) -> None:
    assert strip_controls(text) == shown


@given(ANY_TEXT, st.integers(min_value=0, max_value=50))
def test_bounded_text_says_how_much_was_cut(text: str, limit: int) -> None:
    out = bounded(text, limit)
    assert out == text if len(text) <= limit else out.endswith(f"({len(text) - limit} more characters)")


def test_safe_str_never_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_str(Broken()) == "<Broken whose str() raised>"
    assert safe_str("a\ud800") == "a\ufffd"


def test_model_json_writes_a_model_holding_lone_surrogates() -> None:
    from osmosis_local.log.records import ToolCallRecord

    record = ToolCallRecord(call_id="c", name="n\udc80", arguments={"k\ud800": ["v\udfff"]}, content="r",
                            is_error=False, duration_ms=1.0)  # fmt: skip
    assert json.loads(model_json(record))["arguments"] == {"k\ufffd": ["v\ufffd"]}


# -- user_code: every way a call can fail is that call's error --------------------------------------------


def _exit() -> None:
    sys.exit(3)


def _interrupt() -> None:
    raise KeyboardInterrupt


async def _async_exit() -> None:
    sys.exit("bye")


def _hang() -> None:
    time.sleep(3600)


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("nope")


def _unprintable() -> None:
    raise _Unprintable


@pytest.mark.parametrize(
    ("fn", "detail"),
    [
        (_exit, "raised SystemExit(3)"),
        (_interrupt, "raised KeyboardInterrupt"),
        (_async_exit, "raised SystemExit(bye)"),
        (_unprintable, "raised _Unprintable: <_Unprintable whose str() raised>"),
    ],
)
def test_any_exception_of_user_code_is_a_user_code_error(fn: Any, detail: str) -> None:
    with pytest.raises(UserCodeError) as info:
        asyncio.run(call_user(fn, {}, timeout_s=5, what="f"))
    assert info.value.detail.startswith(detail)


def test_a_hung_sync_call_misses_its_deadline_at_once_in_a_daemon_thread() -> None:
    started = time.perf_counter()
    with pytest.raises(UserCodeTimeout, match=r"f did not return within 0\.2s"):
        asyncio.run(call_user(_hang, {}, timeout_s=0.2, what="f"))
    assert time.perf_counter() - started < 5  # asyncio.run did not wait for the thread at shutdown


def test_sync_calls_reuse_daemon_threads_and_a_hung_one_keeps_only_its_own() -> None:
    import contextvars
    import threading

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    def who() -> tuple[int, bool, str]:
        return threading.get_ident(), threading.current_thread().daemon, var.get()

    async def run() -> tuple[list[tuple[int, bool, str]], list[tuple[int, bool, str]]]:
        var.set("the caller's")
        before = [await call_user(who, {}, timeout_s=5, what="f") for _ in range(20)]
        with pytest.raises(UserCodeTimeout):
            await call_user(_hang, {}, timeout_s=0.1, what="f")
        after = await asyncio.gather(*(call_user(who, {}, timeout_s=5, what="f") for _ in range(3)))
        return before, list(after)

    before, after = asyncio.run(run())
    assert all(daemon and value == "the caller's" for _, daemon, value in before + after)
    assert len({ident for ident, _, _ in before}) <= 2  # one after the other: the same worker, not 20 threads
    assert len(after) == 3  # the hung call's worker is busy; the others still answer at once


def test_a_cancelled_call_is_not_the_codes_error() -> None:
    async def run() -> None:
        task = asyncio.ensure_future(call_user(_hang, {}, timeout_s=None, what="f"))
        await asyncio.sleep(0.05)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run())


# -- the model-client seam -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"content": "a\ud83d"}, {"role": "assistant", "content": "a\ufffd"}),
        ({"content": [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}, "junk"]},
         {"role": "assistant", "content": [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}]}),
        ({"content": 42}, {"role": "assistant", "content": "42"}),
        ({"content": None, "tool_calls": "functions.add"}, {"role": "assistant", "content": None}),
        ({"content": None, "tool_calls": [{"id": "c", "function": {"name": "add", "arguments": {"a": 1}}}, "x"]},
         {"role": "assistant", "content": None,
          "tool_calls": [{"id": "c", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}]}),
        ({"content": None, "tool_calls": [{"id": "c", "function": "add"}]},
         {"role": "assistant", "content": None,
          "tool_calls": [{"id": "c", "type": "function", "function": {"name": "", "arguments": "{}"}}]}),
    ],
)  # fmt: skip
def test_the_seam_normalises_what_openai_allows_and_what_it_does_not(message: dict, expected: dict) -> None:
    assert assistant_message(message) == expected


@pytest.mark.parametrize("usage", [{"prompt_tokens": -3, "completion_tokens": -1}, {"prompt_tokens": True},
                                   {"prompt_tokens": "x", "completion_tokens": 1e400}, "junk", None])  # fmt: skip
def test_token_counts_are_whole_numbers_at_least_zero(usage: Any) -> None:
    reply = reply_from_body({"choices": [{"message": {"content": "x"}}], "usage": usage})
    assert reply.prompt_tokens >= 0 and reply.completion_tokens >= 0


# -- statistics never overflow ---------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(FINITE, min_size=1, max_size=30))
def test_statistics_of_finite_scores_are_finite(values: list[float]) -> None:
    spread = summarize(values)
    assert spread.mean is not None and spread.std is not None
    assert math.isfinite(spread.mean) and math.isfinite(spread.std)
    assert min(values) <= spread.mean <= max(values) or math.isclose(spread.mean, min(values))
    assert math.isfinite(finite_mean(values, len(values) + 3))


@given(st.lists(st.tuples(FINITE, FINITE), min_size=1, max_size=20))
def test_paired_comparisons_of_finite_scores_are_finite(pairs: list[tuple[float, float]]) -> None:
    result = paired_comparison({i: p for i, (p, _) in enumerate(pairs)}, {i: b for i, (_, b) in enumerate(pairs)})
    assert result.mean_delta is not None and math.isfinite(result.mean_delta)
