"""The original SDK's (osmosis-ai 0.2.17) decoration-time signature rules, as the platform applies them.

Our decorators accept more (docs/contract.md §1-2: string annotations, `Optional[str]` ground truth,
`dict[str, Any]` extra_info, int returns); the platform runs the SDK's, so `check` reports what only the
SDK would reject. Each function returns the SDK's error for the first rule that fails, or None.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["sdk_reward_problem", "sdk_rubric_problem", "is_classic"]

_EMPTY = inspect.Parameter.empty
_STR_NAMES = frozenset({"str", "builtins.str"})


def _parameters(func: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None


def is_classic(func: Callable[..., Any]) -> bool:
    """The SDK's mode test: the first parameter is named `solution_str`."""
    params = _parameters(func)
    return params is not None and bool(params) and params[0].name == "solution_str"


def _shown(annotation: Any) -> str:
    if annotation is _EMPTY:
        return "no annotation"
    if isinstance(annotation, str):
        return f"the string {annotation!r}"
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).removeprefix("typing.")


def _is_dict_or_optional_dict(annotation: Any) -> bool:
    if annotation is dict:
        return True
    members = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return tuple(m for m in members if m is not type(None)) == (dict,)
    return False


def _classic_head(func: Callable[..., Any]) -> list[inspect.Parameter] | str | None:
    """None for a non-classic function (no checks), the too-few-parameters error, or the parameters."""
    params = _parameters(func)
    if not params or params[0].name != "solution_str":
        return None
    if len(params) < 3:
        return f"Function {getattr(func, '__name__', 'fn')} must have at least 3 parameters, got {len(params)}"
    return params


def sdk_reward_problem(func: Callable[..., Any]) -> str | None:
    """What the SDK's `@osmosis_reward` raises for this (undecorated) function, or None."""
    params = _classic_head(func)
    if not isinstance(params, list):
        return params
    solution, truth, extra = params[:3]
    if solution.annotation is not str:
        return f"First parameter 'solution_str' must be annotated as str, got {_shown(solution.annotation)}"
    if truth.name != "ground_truth":
        return f"Second parameter must be named 'ground_truth', got '{truth.name}'"
    if truth.annotation is not str:
        return f"Second parameter 'ground_truth' must be annotated as str, got {_shown(truth.annotation)}"
    if extra.name != "extra_info":
        return f"Third parameter must be named 'extra_info', got '{extra.name}'"
    if not _is_dict_or_optional_dict(extra.annotation):
        return f"Third parameter 'extra_info' must be annotated as dict or dict | None, got {_shown(extra.annotation)}"
    if extra.default is _EMPTY:
        return "Third parameter 'extra_info' must have a default value of None"
    return None


def _resolved_hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - an unresolvable annotation is judged as written
        return {}


def _str_like(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation in _STR_NAMES
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__ in _STR_NAMES
    return isinstance(annotation, type) and issubclass(annotation, str)


def _optional_str_like(annotation: Any) -> bool:
    if _str_like(annotation):
        return True
    members = [m for m in typing.get_args(annotation) if m is not type(None)]
    is_union = typing.get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType"
    return is_union and len(members) == 1 and _str_like(members[0])


def sdk_rubric_problem(func: Callable[..., Any]) -> str | None:
    """What the SDK's `@osmosis_rubric` raises for this (undecorated) function, or None."""
    params = _classic_head(func)
    if not isinstance(params, list):
        return params
    hints = _resolved_hints(func)
    solution, truth, extra = params[:3]
    if not _str_like(hints.get("solution_str", solution.annotation)):
        return "First parameter 'solution_str' must be annotated as str"
    if solution.default is not _EMPTY:
        return "First parameter 'solution_str' cannot have a default value"
    if truth.name != "ground_truth":
        return f"Second parameter must be named 'ground_truth', got '{truth.name}'"
    if not _optional_str_like(hints.get("ground_truth", truth.annotation)):
        return "Second parameter 'ground_truth' must be annotated as str or Optional[str]"
    if truth.default is not _EMPTY:
        return "Second parameter 'ground_truth' cannot have a default value"
    if extra.name != "extra_info":
        return f"Third parameter must be named 'extra_info', got '{extra.name}'"
    return None
