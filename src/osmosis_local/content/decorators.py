"""`@osmosis_reward` and `@osmosis_rubric`: the signature contract of the Osmosis SDK (docs/contract.md §1–2).

The platform discovers reward/rubric functions by these decorators, so the local harness must hold content
to the same rules the platform does. When the real SDK (`osmosis_ai`) is importable and provides a
decorator, that decorator is re-exported unchanged (`osmosis_reward is osmosis_ai.osmosis_reward`), so a
function decorated here behaves exactly as it will on the platform. Otherwise the local implementations
(`local_osmosis_reward`, `local_osmosis_rubric`, always importable for tests) are used.

Mode: a function is "classic" iff its first parameter is named `solution_str`; classic signatures are
checked when decorated, everything else is wrapped without checks (e.g. full-mode scorers taking
`messages`).

Deliberate differences from the reference SDK (v0.2.17), chosen where the reference is inconsistent
(docs/contract.md, weak spots 1–3); each accepts what the reference clearly means:

1. Annotations are resolved with `typing.get_type_hints` for BOTH decorators (reference: rubric only), so
   `from __future__ import annotations` and string annotations work for `@osmosis_reward` too.
2. Reward `ground_truth` may be `str`, `Optional[str]` or `str | None` (reference: exactly `str`).
3. Reward `extra_info` may be any dict-like annotation: `dict`, `dict[str, Any]`, `typing.Dict`,
   `Mapping`, `MutableMapping`, a dict subclass (TypedDict), or an Optional of those (reference: `dict` or
   `Optional[dict]` only).
4. Reward `extra_info` must default to None exactly (reference: any default, although its message says
   "must have a default value of None"); a mutable default such as `{}` is rejected.
5. Return values: a `float` passes unchanged; an `int` (any `numbers.Integral`, e.g. numpy ints) is
   converted to float; `bool` is rejected (True/False hides a bug as often as it means 1/0); NaN and
   infinities are rejected because a non-finite reward poisons training statistics (reference: float
   only, NaN allowed). The same rule applies to rubric returns.
6. The first three parameters must be passable by keyword (not positional-only, not *args/**kwargs),
   because the platform calls with keywords (reference: not checked).
7. Binding errors at rubric call time are re-raised as TypeError naming the expected signature
   (reference: Python's bare binding error).
8. The `data_source` keyword is dropped, for both modes, unless the function has a `data_source`
   parameter or `**kwargs`.

Every TypeError says what is wrong, shows the expected signature, and so says how to fix it.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import math
import numbers
import types
import typing
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, Union

__all__ = [
    "local_osmosis_reward",
    "local_osmosis_rubric",
    "osmosis_reward",
    "osmosis_rubric",
    "SDK_REEXPORTED",
]

F = TypeVar("F", bound=Callable[..., Any])

_EMPTY = inspect.Parameter.empty
_NONE_TYPE = type(None)
_STR_NAMES = frozenset({"str", "builtins.str"})
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_DICT_LIKE_ORIGINS = (collections.abc.Mapping, collections.abc.MutableMapping)

_REWARD_SIGNATURE = "def {name}(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float"
_RUBRIC_SIGNATURE = "def {name}(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float"


# --------------------------------------------------------------------------------------------------
# Annotation helpers
# --------------------------------------------------------------------------------------------------


def _resolve_annotation(func: Callable[..., Any], param: inspect.Parameter) -> Any:
    """Resolve one parameter's annotation (strings, `__future__` annotations) in the function's globals.

    Resolved one parameter at a time so an unresolvable annotation elsewhere in the signature does not
    prevent checking these three; on failure the raw annotation is returned (a string "str" still passes).
    """
    annotation = param.annotation
    if annotation is _EMPTY:
        return _EMPTY
    globalns = getattr(inspect.unwrap(func), "__globals__", None) or {}
    holder = types.SimpleNamespace(__annotations__={param.name: annotation})
    try:
        return typing.get_type_hints(holder, globalns=globalns)[param.name]
    except Exception:  # noqa: BLE001 - unresolvable forward reference: judge the raw annotation
        return annotation


def _is_str_like(annotation: Any) -> bool:
    """True for `str`, a str subclass, or the unresolved strings/forward refs "str" / "builtins.str"."""
    if isinstance(annotation, str):
        return annotation.strip() in _STR_NAMES
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__.strip() in _STR_NAMES
    return isinstance(annotation, type) and issubclass(annotation, str)


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    """The non-None members of a Union / `X | Y` annotation, or None if it is not a union."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(annotation) if arg is not _NONE_TYPE)
    return None


def _is_optional_str_like(annotation: Any) -> bool:
    """`str` or `Optional[str]` / `str | None` (a union whose only non-None member is str-like)."""
    if _is_str_like(annotation):
        return True
    members = _union_members(annotation)
    return members is not None and len(members) == 1 and _is_str_like(members[0])


def _is_dict_like(annotation: Any) -> bool:
    """`dict`, `dict[...]`, `typing.Dict`, `Mapping`, `MutableMapping`, dict subclasses, or Optional of those."""
    members = _union_members(annotation)
    if members is not None:
        return bool(members) and all(_is_dict_like(member) for member in members)
    if isinstance(annotation, str):
        return annotation.strip() in {"dict", "builtins.dict"}
    origin = typing.get_origin(annotation) or annotation
    if not isinstance(origin, type):
        return False
    return issubclass(origin, dict) or origin in _DICT_LIKE_ORIGINS


def _describe(annotation: Any) -> str:
    if annotation is _EMPTY:
        return "no annotation"
    return inspect.formatannotation(annotation)


def _name_of(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


# --------------------------------------------------------------------------------------------------
# Shared wrapper machinery
# --------------------------------------------------------------------------------------------------


def _signature_or_none(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # some builtins and C callables have no introspectable signature
        return None


def _is_classic(signature: inspect.Signature | None) -> bool:
    if signature is None:
        return False
    params = list(signature.parameters.values())
    return bool(params) and params[0].name == "solution_str"


def _accepts_data_source(signature: inspect.Signature | None) -> bool:
    """True if `data_source=` can be passed (a parameter of that name or **kwargs); unknown → pass through."""
    if signature is None:
        return True
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if param.name == "data_source" and param.kind is not inspect.Parameter.POSITIONAL_ONLY:
            return True
    return False


def _is_async(func: Callable[..., Any]) -> bool:
    call = getattr(func, "__call__", None)  # noqa: B004 - an object whose __call__ is `async def`
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


def _checked_float(result: Any, func_name: str, decorator: str, expected: str) -> float:
    """Enforce the float return rule (see module docstring, point 5) and return the score as a float."""
    if isinstance(result, bool):
        raise TypeError(
            f"Function {func_name} must return a float, got {type(result).__name__}. A {decorator} function "
            f"returns a score, not a verdict: write `return 1.0 if ok else 0.0`. Expected: `{expected}`."
        )
    if isinstance(result, float):
        value = result
    elif isinstance(result, numbers.Integral):
        value = float(result)
    else:
        raise TypeError(
            f"Function {func_name} must return a float, got {type(result).__name__}. "
            f"Return `float(score)`. Expected: `{expected}`."
        )
    if not math.isfinite(value):
        raise TypeError(
            f"Function {func_name} returned {value!r}; a score must be a finite float. "
            f"Check the computation (e.g. a division by zero) and return a finite float."
        )
    return value


def _check_keyword_passable(params: list[inspect.Parameter], func_name: str, decorator: str, expected: str) -> None:
    for param in params[:3]:
        if param.kind not in _KEYWORD_KINDS:
            raise TypeError(
                f"{decorator}: parameter '{param.name}' of {func_name} is {param.kind.description}, but the "
                f"platform passes solution_str, ground_truth and extra_info by keyword; make them ordinary "
                f"parameters. Expected: `{expected}`."
            )


def _build_wrapper(
    func: Callable[..., Any],
    signature: inspect.Signature | None,
    before_call: Callable[[tuple[Any, ...], dict[str, Any]], None] | None,
    after_call: Callable[[Any], Any] | None,
) -> Callable[..., Any]:
    """Wrap `func` (sync or async): drop `data_source` if unacceptable, pre-check args, post-check result."""
    drop_data_source = not _accepts_data_source(signature)

    def prepare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if drop_data_source:
            kwargs.pop("data_source", None)
        if before_call is not None:
            before_call(args, kwargs)

    if _is_async(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            prepare(args, kwargs)
            result = await func(*args, **kwargs)
            return after_call(result) if after_call is not None else result

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prepare(args, kwargs)
        result = func(*args, **kwargs)
        return after_call(result) if after_call is not None else result

    return wrapper


def _require_callable(func: Any, decorator: str) -> None:
    if func is None or not callable(func):
        raise TypeError(
            f"{decorator} must be applied directly to a function: write `{decorator}` on the line above "
            f"`def ...` (not `{decorator}()`), got {func!r}."
        )


# --------------------------------------------------------------------------------------------------
# @osmosis_reward
# --------------------------------------------------------------------------------------------------


def _classic_head(
    func: Callable[..., Any], params: list[inspect.Parameter], where: str, template: str, fallback: str
) -> tuple[Callable[[str], typing.NoReturn], list[inspect.Parameter]]:
    """Checks both decorators make first, in the SDK's order (docs/contract.md §1): >= 3 params, keyword-passable, and a
    str-like `solution_str`. Returns the `fail` that raises with the expected signature, and the first three."""
    name = _name_of(func)
    expected = template.format(name=getattr(func, "__name__", fallback))

    def fail(problem: str) -> typing.NoReturn:
        raise TypeError(f"{where}: {problem}. Expected: `{expected}`.")

    if len(params) < 3:
        fail(f"Function {name} must have at least 3 parameters, got {len(params)}")
    _check_keyword_passable(params, name, where, expected)
    solution_ann = _resolve_annotation(func, params[0])
    if not _is_str_like(solution_ann):
        fail(f"First parameter 'solution_str' must be annotated as str, got {_describe(solution_ann)}")
    return fail, params[:3]


def _check_reward_signature(func: Callable[..., Any], params: list[inspect.Parameter]) -> None:
    fail, (_, ground_truth, extra_info) = _classic_head(func, params, "@osmosis_reward", _REWARD_SIGNATURE, "reward")

    if ground_truth.name != "ground_truth":
        fail(f"Second parameter must be named 'ground_truth', got '{ground_truth.name}'")
    truth_ann = _resolve_annotation(func, ground_truth)
    if not _is_optional_str_like(truth_ann):
        fail(f"Second parameter 'ground_truth' must be annotated as str, got {_describe(truth_ann)}")

    if extra_info.name != "extra_info":
        fail(f"Third parameter must be named 'extra_info', got '{extra_info.name}'")
    extra_ann = _resolve_annotation(func, extra_info)
    if not _is_dict_like(extra_ann):
        fail(f"Third parameter 'extra_info' must be annotated as dict or dict | None, got {_describe(extra_ann)}")
    if extra_info.default is _EMPTY:
        fail("Third parameter 'extra_info' must have a default value of None, it has no default")
    if extra_info.default is not None:
        fail(f"Third parameter 'extra_info' must have a default value of None, got {extra_info.default!r}")


def local_osmosis_reward(func: F | None = None) -> F:
    """Check a reward function's signature now and its float return value on every call (docs/contract.md §1)."""
    _require_callable(func, "@osmosis_reward")
    assert func is not None
    signature = _signature_or_none(func)
    if not _is_classic(signature):
        return typing.cast(F, _build_wrapper(func, signature, None, None))
    assert signature is not None
    _check_reward_signature(func, list(signature.parameters.values()))
    name = _name_of(func)
    expected = _REWARD_SIGNATURE.format(name=getattr(func, "__name__", "reward"))

    def after_call(result: Any) -> float:
        return _checked_float(result, name, "@osmosis_reward", expected)

    return typing.cast(F, _build_wrapper(func, signature, None, after_call))


# --------------------------------------------------------------------------------------------------
# @osmosis_rubric
# --------------------------------------------------------------------------------------------------


def _check_rubric_signature(func: Callable[..., Any], params: list[inspect.Parameter]) -> None:
    fail, (solution, ground_truth, extra_info) = _classic_head(
        func, params, "@osmosis_rubric", _RUBRIC_SIGNATURE, "rubric"
    )
    if solution.default is not _EMPTY:
        fail("First parameter 'solution_str' cannot have a default value")

    if ground_truth.name != "ground_truth":
        fail(f"Second parameter must be named 'ground_truth', got '{ground_truth.name}'")
    truth_ann = _resolve_annotation(func, ground_truth)
    if not _is_optional_str_like(truth_ann):
        fail(f"Second parameter 'ground_truth' must be annotated as str or Optional[str], got {_describe(truth_ann)}")
    if ground_truth.default is not _EMPTY:
        fail("Second parameter 'ground_truth' cannot have a default value")

    if extra_info.name != "extra_info":
        fail(f"Third parameter must be named 'extra_info', got '{extra_info.name}'")


def local_osmosis_rubric(func: F | None = None) -> F:
    """Check a rubric function's signature now, and its arguments and float return on every call.

    See docs/contract.md §2.
    """
    _require_callable(func, "@osmosis_rubric")
    assert func is not None
    signature = _signature_or_none(func)
    if not _is_classic(signature):
        return typing.cast(F, _build_wrapper(func, signature, None, None))
    assert signature is not None
    _check_rubric_signature(func, list(signature.parameters.values()))
    name = _name_of(func)
    expected = _RUBRIC_SIGNATURE.format(name=getattr(func, "__name__", "rubric"))

    def before_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"Cannot call {name} with these arguments: {exc}. Expected: `{expected}`.") from exc
        bound.apply_defaults()
        arguments = bound.arguments
        for required in ("solution_str", "ground_truth", "extra_info"):
            if required not in arguments:
                raise TypeError(f"'{required}' argument is required when calling {name}. Expected: `{expected}`.")
        if not isinstance(arguments["solution_str"], str):
            raise TypeError(
                f"'solution_str' must be a string, got {type(arguments['solution_str']).__name__}. "
                f"Pass the model's answer text (str(answer))."
            )
        truth = arguments["ground_truth"]
        if truth is not None and not isinstance(truth, str):
            raise TypeError(
                f"'ground_truth' must be a string or None, got {type(truth).__name__}. "
                f"Pass the reference as text (str(value)) or None."
            )

    def after_call(result: Any) -> float:
        return _checked_float(result, name, "@osmosis_rubric", expected)

    return typing.cast(F, _build_wrapper(func, signature, before_call, after_call))


# --------------------------------------------------------------------------------------------------
# Public names: the SDK's own decorators when installed, else the local ones
# --------------------------------------------------------------------------------------------------


def _load_sdk() -> types.ModuleType | None:
    """The `osmosis_ai` module if it is installed and imports cleanly, else None."""
    try:
        return importlib.import_module("osmosis_ai")
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - a broken SDK install must not break the harness
        warnings.warn(
            f"osmosis_ai is installed but failed to import ({type(exc).__name__}: {exc}); using the local "
            f"decorators. Reinstall osmosis-ai to check content with the platform's own decorators.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def _sdk_decorator(sdk: types.ModuleType | None, attribute: str) -> Callable[..., Any] | None:
    candidate = getattr(sdk, attribute, None) if sdk is not None else None
    return candidate if callable(candidate) else None


_sdk = _load_sdk()
_sdk_reward = _sdk_decorator(_sdk, "osmosis_reward")
_sdk_rubric = _sdk_decorator(_sdk, "osmosis_rubric")

osmosis_reward: Callable[..., Any] = _sdk_reward or local_osmosis_reward
osmosis_rubric: Callable[..., Any] = _sdk_rubric or local_osmosis_rubric

#: Which public decorators are the SDK's own (empty when osmosis_ai is not installed).
SDK_REEXPORTED: frozenset[str] = frozenset(
    name for name, sdk in (("osmosis_reward", _sdk_reward), ("osmosis_rubric", _sdk_rubric)) if sdk is not None
)
