"""Load and call `--eval-fn module:function` scorers in simple or full mode (docs/contract.md §7).

Loading never shows a traceback: *any* exception while importing (syntax errors, a module that
raises, a missing dependency) becomes an `EvalFnLoadError` with a one-line reason, and the
signature is checked up front, so a scorer that can't accept the keywords fails at startup instead
of in every run.

A scorer that raises (anything: ``sys.exit`` or a ``KeyboardInterrupt`` of its own included), misses its
deadline, or returns a non-number is an `EvalFnCallError` the caller records as that run's error, not a
silent 0.0 and never the end of the eval (`osmosis_local.user_code` runs the call). `bool` results are
rejected too (the SDK lets `True` through as 1.0):
a scorer returning a bool is almost always a bug such as returning `a == b` where a graded score was
meant; return `float(a == b)` instead. Both points differ from the SDK on purpose
(docs/contract.md, weak spots 4-5).
"""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from osmosis_local.config.settings import duplicate_spec_problem
from osmosis_local.safe_text import bounded, safe_str
from osmosis_local.types import Message
from osmosis_local.user_code import MAX_DETAIL_CHARS, UserCodeError, call_user

__all__ = [
    "EvalFn",
    "EvalFnCallError",
    "EvalFnLoadError",
    "call_eval_fn",
    "load_eval_fn",
    "load_eval_fns",
]

Mode = Literal["simple", "full"]
_MODE_BY_FIRST_PARAM: dict[str, Mode] = {"solution_str": "simple", "messages": "full"}
_KWARGS_BY_MODE: dict[Mode, tuple[str, str, str]] = {
    "simple": ("solution_str", "ground_truth", "extra_info"),
    "full": ("messages", "ground_truth", "metadata"),
}


class EvalFnLoadError(Exception):
    """An `--eval-fn` spec can't be turned into a usable scorer."""


class EvalFnCallError(Exception):
    """A scorer raised or returned something that isn't a finite number."""

    def __init__(self, spec: str, detail: str) -> None:
        self.spec = spec
        self.detail = detail
        super().__init__(f"{spec}: {detail}")


@dataclass(frozen=True)
class EvalFn:
    """A loaded scorer. `spec` is the exact `mod:fn` text, used as its display name and JSON key."""

    spec: str
    fn: Callable[..., Any]
    mode: Mode

    @property
    def name(self) -> str:
        return self.spec

    async def score(
        self,
        *,
        ground_truth: str,
        row: dict[str, Any],
        solution_str: str,
        messages: list[Message],
        timeout_s: float | None = None,
    ) -> float:
        """Score a finished run; passes whichever of `solution_str`/`messages` the mode needs.

        Same contract as `call_eval_fn` (raises `EvalFnCallError`); `row` is the row copy that
        becomes `extra_info` (simple) or `metadata` (full).
        """
        return await call_eval_fn(
            self,
            ground_truth=ground_truth,
            extra=row,
            solution_str=solution_str if self.mode == "simple" else None,
            messages=messages if self.mode == "full" else None,
            timeout_s=timeout_s,
        )


def load_eval_fns(specs: Sequence[str]) -> list[EvalFn]:
    """Load several specs in order; a spec given twice is an error."""
    problem = duplicate_spec_problem(specs)
    if problem:
        raise EvalFnLoadError(problem)
    return [load_eval_fn(spec) for spec in specs]


def load_eval_fn(spec: str) -> EvalFn:
    """Import `module:function` (split at the last ':') with the cwd on sys.path; find its mode."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise EvalFnLoadError(
            f"Invalid --eval-fn {spec!r}: expected 'module:function', "
            "e.g. 'reward_fn.compute_reward:numbers_match_reward'"
        )
    if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
        raise EvalFnLoadError(
            f"Invalid --eval-fn {spec!r}: use a dotted module path relative to the current "
            f"directory (e.g. 'reward_fn.compute_reward:{attr}'), not a file path"
        )
    _ensure_cwd_on_path()
    module = _import(spec, module_name)

    if not hasattr(module, attr):
        public = sorted(n for n, v in vars(module).items() if not n.startswith("_") and callable(v))
        listing = ", ".join(public) if public else "(none)"
        raise EvalFnLoadError(
            f"Module '{module_name}' has no attribute '{attr}' (--eval-fn {spec!r}). Public callables: {listing}"
        )
    fn = getattr(module, attr)
    if not callable(fn):
        raise EvalFnLoadError(f"--eval-fn {spec!r} is not callable (it is a {type(fn).__name__})")
    mode = _detect_mode(spec, fn)
    return EvalFn(spec=spec, fn=fn, mode=mode)


async def call_eval_fn(
    eval_fn: EvalFn,
    *,
    ground_truth: str,
    extra: dict[str, Any],
    solution_str: str | None = None,
    messages: list[Message] | None = None,
    timeout_s: float | None = None,
) -> float:
    """Score one run with keyword arguments only, within ``timeout_s`` seconds (None: no limit); async fns are
    awaited, sync ones run in a daemon thread.

    Simple mode gets `solution_str, ground_truth, extra_info=extra`; full mode gets
    `messages, ground_truth, metadata=extra`. Raises `EvalFnCallError` if the scorer raises or
    returns anything but a finite int/float (bool rejected, see the module doc).
    """
    first_kw, gt_kw, extra_kw = _KWARGS_BY_MODE[eval_fn.mode]
    first = solution_str if eval_fn.mode == "simple" else messages
    if first is None:
        raise TypeError(f"{eval_fn.spec} is a {eval_fn.mode}-mode eval fn; pass {first_kw}=")
    kwargs = {first_kw: first, gt_kw: ground_truth, extra_kw: extra}
    try:
        result = await call_user(eval_fn.fn, kwargs, timeout_s=timeout_s, what="the eval function")
    except UserCodeError as exc:
        raise EvalFnCallError(eval_fn.spec, exc.detail) from None
    return _as_score(eval_fn.spec, result)


# --------------------------------------------------------------------------------------------


def _ensure_cwd_on_path() -> None:
    cwd = os.getcwd()
    if all(os.path.abspath(p or os.curdir) != cwd for p in sys.path):
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()


def _import(spec: str, module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise EvalFnLoadError(
                f"Module '{module_name}' not found for --eval-fn {spec!r} (searched the current "
                f"directory {os.getcwd()} and sys.path); check the spelling and run from the "
                "repository root"
            ) from None
        raise EvalFnLoadError(
            f"Error importing module '{module_name}' for --eval-fn {spec!r}: ModuleNotFoundError: {exc}"
        ) from None
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else "unknown location"
        raise EvalFnLoadError(f"Syntax error in module '{module_name}' ({where}): {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - module-level code may raise anything
        raise EvalFnLoadError(
            f"Error importing module '{module_name}' for --eval-fn {spec!r}: {type(exc).__name__}: {exc}"
        ) from None


def _detect_mode(spec: str, fn: Callable[..., Any]) -> Mode:
    try:
        sig = inspect.signature(fn)  # follows __wrapped__, so decorated fns show the original
    except (TypeError, ValueError) as exc:
        raise EvalFnLoadError(f"Can't read the signature of --eval-fn {spec!r}: {exc}") from None
    params = [
        p
        for p in sig.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    hint = (
        "the first parameter must be named 'solution_str' (simple mode: solution_str, "
        "ground_truth, extra_info) or 'messages' (full mode: messages, ground_truth, metadata)"
    )
    if not params:
        raise EvalFnLoadError(f"--eval-fn {spec!r} takes no named parameters; {hint}")
    mode = _MODE_BY_FIRST_PARAM.get(params[0].name)
    if mode is None:
        raise EvalFnLoadError(f"--eval-fn {spec!r} has first parameter '{params[0].name}'; {hint}")
    names = _KWARGS_BY_MODE[mode]
    try:
        sig.bind(**{n: None for n in names})
    except TypeError as exc:
        raise EvalFnLoadError(
            f"--eval-fn {spec!r} ({mode} mode) can't be called as "
            f"{getattr(fn, '__name__', 'fn')}({', '.join(f'{n}=...' for n in names)}): {exc}"
        ) from None
    return mode


def _as_score(spec: str, result: Any) -> float:
    if isinstance(result, bool):
        raise EvalFnCallError(spec, f"returned a bool ({result}); return a number, e.g. float({result})")
    if not isinstance(result, numbers.Real):
        raise EvalFnCallError(
            spec,
            f"returned {type(result).__name__} ({_short(result)}); eval functions must return an int or float",
        )
    try:
        value = float(result)
    except OverflowError:
        raise EvalFnCallError(spec, f"returned a number too large for a float ({_short(result)})") from None
    except BaseException as exc:  # noqa: BLE001 - a Real subclass whose __float__ raises
        detail = bounded(safe_str(exc), MAX_DETAIL_CHARS)
        raise EvalFnCallError(
            spec, f"returned a {type(result).__name__} whose float() raised {type(exc).__name__}: {detail}"
        ) from None
    if not math.isfinite(value):
        raise EvalFnCallError(spec, f"returned a non-finite score ({value})")
    return value


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - a broken __repr__ (or an int too long to print)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
