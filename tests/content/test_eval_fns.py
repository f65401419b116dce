"""--eval-fn loading and calling (docs/contract.md §7 and weak spots 4-5).

Real modules are written to tmp_path (the cwd).
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from osmosis_local.content.eval_fns import (
    EvalFn,
    EvalFnCallError,
    EvalFnLoadError,
    call_eval_fn,
    load_eval_fn,
    load_eval_fns,
)

SCORERS = '''
import asyncio
import functools


def exact(solution_str, ground_truth, extra_info=None, **kwargs):
    return 1.0 if solution_str.strip() == ground_truth else 0.0


def as_int(solution_str, ground_truth, extra_info=None):
    return 1


async def async_simple(solution_str, ground_truth, extra_info=None):
    await asyncio.sleep(0)
    return 0.25


def full(messages, ground_truth, metadata=None):
    return float(len(messages)) + (0.5 if metadata and metadata.get("id") == "r1" else 0.0)


async def async_full(messages, ground_truth, metadata=None):
    return 2


def decorator(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@decorator
def decorated(solution_str, ground_truth, extra_info=None):
    return 0.75


def returns_bool(solution_str, ground_truth, extra_info=None):
    return True


def returns_str(solution_str, ground_truth, extra_info=None):
    return "0.5"


def returns_nan(solution_str, ground_truth, extra_info=None):
    return float("nan")


def raises(solution_str, ground_truth, extra_info=None):
    raise KeyError("score")


def mutates(solution_str, ground_truth, extra_info=None):
    extra_info["seen"] = True
    return 0.0


def wrong_first(answer, ground_truth, extra_info=None):
    return 0.0


def no_params():
    return 0.0


def too_few(solution_str, ground_truth):
    return 0.0


def only_kwargs(**kwargs):
    return 0.0


class _Scorer:
    def __call__(self, solution_str, ground_truth, extra_info=None):
        return 0.5


instance_scorer = _Scorer()
NOT_CALLABLE = 3
_private = exact
'''


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cwd holding `scorers_<n>.py`-style modules; imports cleaned up afterwards."""
    monkeypatch.chdir(tmp_path)
    before_path = list(sys.path)
    before_modules = set(sys.modules)
    (tmp_path / "scorers.py").write_text(SCORERS)
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("def score(solution_str, ground_truth, extra_info=None):\n    return 1.0\n")
    (tmp_path / "broken_syntax.py").write_text("def f(:\n")
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('no config')\n")
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(2)\n")
    (tmp_path / "needs_dep.py").write_text("import not_installed_dep_xyz\n")
    yield tmp_path
    for name in set(sys.modules) - before_modules:
        module = sys.modules[name]
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)) or name in (
            "pkg",
            "pkg.sub",
        ):
            del sys.modules[name]
    sys.path[:] = before_path


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        ("scorers:exact", "simple"),
        ("scorers:async_simple", "simple"),
        ("scorers:full", "full"),
        ("scorers:async_full", "full"),
        ("scorers:decorated", "simple"),
        ("scorers:instance_scorer", "simple"),
        ("pkg.sub.mod:score", "simple"),
    ],
)
def test_load_detects_mode(repo: Path, spec: str, mode: str) -> None:
    fn = load_eval_fn(spec)
    assert isinstance(fn, EvalFn)
    assert (fn.spec, fn.name, fn.mode) == (spec, spec, mode)
    assert str(repo) in sys.path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", r"Invalid --eval-fn 'no_colon': expected 'module:function'"),
        (":fn", r"expected 'module:function'"),
        ("scorers:", r"expected 'module:function'"),
        ("scorers.py:exact", r"use a dotted module path .* not a file path"),
        ("dir/scorers:exact", r"not a file path"),
        (
            "missing_mod:fn",
            r"Module 'missing_mod' not found for --eval-fn 'missing_mod:fn' \(searched the current directory",
        ),
        ("pkg.nope:fn", r"Module 'pkg.nope' not found"),
        (
            "needs_dep:fn",
            r"Error importing module 'needs_dep' .*ModuleNotFoundError: No module named 'not_installed_dep_xyz'",
        ),
        ("broken_syntax:f", r"Syntax error in module 'broken_syntax' \(.*broken_syntax\.py, line 1\)"),
        ("raises_on_import:f", r"Error importing module 'raises_on_import' .*RuntimeError: no config"),
        ("exits_on_import:f", r"Error importing module 'exits_on_import' .*SystemExit: 2"),
        ("scorers:nope", r"Module 'scorers' has no attribute 'nope' .*Public callables: .*as_int, async_full, .*exact"),
        ("scorers:NOT_CALLABLE", r"'scorers:NOT_CALLABLE' is not callable \(it is a int\)"),
        ("scorers:wrong_first", r"has first parameter 'answer'; the first parameter must be named 'solution_str'"),
        ("scorers:no_params", r"takes no named parameters"),
        ("scorers:only_kwargs", r"takes no named parameters"),
        (
            "scorers:too_few",
            r"\(simple mode\) can't be called as "
            r"too_few\(solution_str=\.\.\., ground_truth=\.\.\., extra_info=\.\.\.\)",
        ),
    ],
)
def test_load_errors_are_clear(repo: Path, spec: str, message: str) -> None:
    with pytest.raises(EvalFnLoadError, match=message) as info:
        load_eval_fn(spec)
    assert "Traceback" not in str(info.value)


def test_public_callables_listing_hides_private_names(repo: Path) -> None:
    with pytest.raises(EvalFnLoadError) as info:
        load_eval_fn("scorers:nope")
    assert "_private" not in str(info.value) and "NOT_CALLABLE" not in str(info.value)


def test_duplicates_are_rejected_and_order_is_kept(repo: Path) -> None:
    fns = load_eval_fns(["scorers:full", "scorers:exact"])
    assert [f.spec for f in fns] == ["scorers:full", "scorers:exact"]
    with pytest.raises(EvalFnLoadError, match="'scorers:exact' is given more than once"):
        load_eval_fns(["scorers:exact", "scorers:full", "scorers:exact"])


def test_spec_splits_at_the_last_colon(repo: Path) -> None:
    with pytest.raises(EvalFnLoadError, match="Module 'a:b' not found"):
        load_eval_fn("a:b:c")


# ------------------------------------------------------------------ calling


def _score(spec: str, **kwargs) -> float:
    fn = load_eval_fn(spec)
    kwargs.setdefault("ground_truth", "4")
    kwargs.setdefault("extra", {"id": "r1"})
    if fn.mode == "simple":
        kwargs.setdefault("solution_str", " 4 ")
    else:
        kwargs.setdefault("messages", [{"role": "user", "content": "2+2"}, {"role": "assistant", "content": "4"}])
    return asyncio.run(call_eval_fn(fn, **kwargs))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("scorers:exact", 1.0),
        ("scorers:as_int", 1.0),
        ("scorers:async_simple", 0.25),
        ("scorers:full", 2.5),
        ("scorers:async_full", 2.0),
        ("scorers:decorated", 0.75),
        ("scorers:instance_scorer", 0.5),
    ],
)
def test_call_returns_a_float(repo: Path, spec: str, expected: float) -> None:
    score = _score(spec)
    assert score == expected
    assert type(score) is float


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "scorers:returns_bool",
            r"scorers:returns_bool: returned a bool \(True\); return a number, e\.g\. float\(True\)",
        ),
        ("scorers:returns_str", r"returned str \('0\.5'\); eval functions must return an int or float"),
        ("scorers:returns_nan", r"returned a non-finite score \(nan\)"),
        ("scorers:raises", r"scorers:raises: raised KeyError: 'score'"),
    ],
)
def test_call_failures_raise_eval_fn_call_error(repo: Path, spec: str, message: str) -> None:
    with pytest.raises(EvalFnCallError, match=message) as info:
        _score(spec)
    assert info.value.spec == spec


def test_keywords_are_passed_by_name(repo: Path) -> None:
    extra = {"id": "r2"}
    assert _score("scorers:exact", solution_str="5", ground_truth="4", extra=extra) == 0.0
    _score("scorers:mutates", extra=extra)
    assert extra == {"id": "r2", "seen": True}  # the caller passes a copy if it cares


@pytest.mark.parametrize(("spec", "expected"), [("scorers:exact", 1.0), ("scorers:full", 2.5)])
def test_score_method_picks_the_argument_for_the_mode(repo: Path, spec: str, expected: float) -> None:
    fn = load_eval_fn(spec)
    messages = [{"role": "user", "content": "2+2"}, {"role": "assistant", "content": "4"}]
    score = asyncio.run(fn.score(solution_str="4", messages=messages, ground_truth="4", row={"id": "r1"}))
    assert score == expected


def test_wrong_mode_argument_is_a_programming_error(repo: Path) -> None:
    fn = load_eval_fn("scorers:full")
    with pytest.raises(TypeError, match="full-mode eval fn; pass messages="):
        asyncio.run(call_eval_fn(fn, solution_str="x", ground_truth="g", extra={}))


def test_sync_scorers_run_off_the_event_loop(repo: Path) -> None:
    (repo / "threaded.py").write_text(
        textwrap.dedent(
            """
            import threading
            def where(solution_str, ground_truth, extra_info=None):
                return 1.0 if threading.current_thread() is not threading.main_thread() else 0.0
            """
        )
    )
    assert _score("threaded:where") == 1.0


def test_the_real_repository_reward_fn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's own simple-mode scorer loads from the repo root."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    fn = load_eval_fn("reward_fn.compute_reward:numbers_match_reward")
    assert fn.mode == "simple"
    score = asyncio.run(
        call_eval_fn(fn, solution_str="2 * 21 = 42\n#### 42", ground_truth="42", extra={})
    )
    assert score == 1.0
