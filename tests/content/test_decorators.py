"""@osmosis_reward / @osmosis_rubric: signature rules, call-time checks, async, data_source, SDK re-export.

The local implementations are tested directly (`local_osmosis_*`) so these tests keep meaning the same thing
if the real SDK is installed later; the re-export path is tested with a fake `osmosis_ai` package in a
subprocess.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Dict, Optional, TypedDict, Union

import pytest
from helpers import REPO

import osmosis_local
from osmosis_local.content import decorators
from osmosis_local.content.decorators import local_osmosis_reward, local_osmosis_rubric

REWARD_EXPECTED = "extra_info: dict = None, **kwargs) -> float`"
RUBRIC_EXPECTED = "ground_truth: str | None, extra_info: dict, **kwargs) -> float`"


class Info(TypedDict, total=False):
    id: str


class Text(str):
    pass


# --------------------------------------------------------------------------------------------------
# Signature tables. This file uses `from __future__ import annotations`, so every annotation below is a
# string that the decorators must resolve (the reference reward decorator would reject them all).
# --------------------------------------------------------------------------------------------------


def r_canonical(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float: ...
def r_no_kwargs(solution_str: str, ground_truth: str, extra_info: dict = None) -> float: ...
def r_optional_truth(solution_str: str, ground_truth: Optional[str], extra_info: dict = None) -> float: ...
def r_pipe_truth(solution_str: str, ground_truth: str | None, extra_info: dict = None) -> float: ...
def r_dict_generic(solution_str: str, ground_truth: str, extra_info: dict[str, Any] = None) -> float: ...
def r_optional_dict(solution_str: str, ground_truth: str, extra_info: Optional[dict] = None) -> float: ...
def r_pipe_dict(solution_str: str, ground_truth: str, extra_info: dict | None = None) -> float: ...
def r_mapping(solution_str: str, ground_truth: str, extra_info: Mapping[str, Any] = None) -> float: ...
def r_typing_dict(solution_str: str, ground_truth: str, extra_info: Dict[str, Any] = None) -> float: ...
def r_typeddict(solution_str: str, ground_truth: str, extra_info: Info = None) -> float: ...
def r_str_subclass(solution_str: Text, ground_truth: str, extra_info: dict = None) -> float: ...
def r_annotated(solution_str: Annotated[str, "answer"], ground_truth: str, extra_info: dict = None) -> float: ...
def r_more_params(solution_str: str, ground_truth: str, extra_info: dict = None, scale: float = 1.0) -> float: ...
def r_keyword_only(*, solution_str: str, ground_truth: str, extra_info: dict = None) -> float: ...
def r_data_source(solution_str: str, ground_truth: str, extra_info: dict = None, data_source: str = "") -> float: ...
def r_unknown_later(solution_str: str, ground_truth: str, extra_info: dict = None, x: Undefined = None) -> float: ...  # noqa: F821


REWARD_ACCEPT = [
    r_canonical, r_no_kwargs, r_optional_truth, r_pipe_truth, r_dict_generic, r_optional_dict, r_pipe_dict,
    r_mapping, r_typing_dict, r_typeddict, r_str_subclass, r_annotated, r_more_params, r_keyword_only,
    r_data_source, r_unknown_later,
]  # fmt: skip


def r_two(solution_str: str, ground_truth: str) -> float: ...
def r_unannotated(solution_str, ground_truth: str, extra_info: dict = None) -> float: ...
def r_int_solution(solution_str: int, ground_truth: str, extra_info: dict = None) -> float: ...
def r_bad_name2(solution_str: str, gt: str, extra_info: dict = None) -> float: ...
def r_int_truth(solution_str: str, ground_truth: int, extra_info: dict = None) -> float: ...
def r_opt_int_truth(solution_str: str, ground_truth: Optional[int], extra_info: dict = None) -> float: ...
def r_union_truth(solution_str: str, ground_truth: Union[str, int], extra_info: dict = None) -> float: ...
def r_bad_name3(solution_str: str, ground_truth: str, info: dict = None) -> float: ...
def r_list_extra(solution_str: str, ground_truth: str, extra_info: list = None) -> float: ...
def r_mixed_extra(solution_str: str, ground_truth: str, extra_info: Union[dict, list, None] = None) -> float: ...
def r_no_extra_annotation(solution_str: str, ground_truth: str, extra_info=None) -> float: ...
def r_undefined_extra(solution_str: str, ground_truth: str, extra_info: Undefined = None) -> float: ...  # noqa: F821
def r_no_default(solution_str: str, ground_truth: str, extra_info: dict) -> float: ...
def r_mutable_default(solution_str: str, ground_truth: str, extra_info: dict = {}) -> float: ...  # noqa: B006
def r_positional_only(solution_str: str, /, ground_truth: str, extra_info: dict = None) -> float: ...
def r_var_positional(solution_str: str, *ground_truth: str, extra_info: dict = None) -> float: ...


REWARD_REJECT = [
    (r_two, "must have at least 3 parameters, got 2"),
    (r_unannotated, "'solution_str' must be annotated as str, got no annotation"),
    (r_int_solution, "'solution_str' must be annotated as str, got int"),
    (r_bad_name2, "Second parameter must be named 'ground_truth', got 'gt'"),
    (r_int_truth, "'ground_truth' must be annotated as str, got int"),
    (r_opt_int_truth, "'ground_truth' must be annotated as str, got Optional[int]"),
    (r_union_truth, "'ground_truth' must be annotated as str, got Union[str, int]"),
    (r_bad_name3, "Third parameter must be named 'extra_info', got 'info'"),
    (r_list_extra, "'extra_info' must be annotated as dict or dict | None, got list"),
    (r_mixed_extra, "'extra_info' must be annotated as dict or dict | None, got Union[dict, list, NoneType]"),
    (r_no_extra_annotation, "'extra_info' must be annotated as dict or dict | None, got no annotation"),
    (r_undefined_extra, "'extra_info' must be annotated as dict or dict | None, got 'Undefined'"),
    (r_no_default, "'extra_info' must have a default value of None, it has no default"),
    (r_mutable_default, "'extra_info' must have a default value of None, got {}"),
    (r_positional_only, "parameter 'solution_str' of r_positional_only is positional-only"),
    (r_var_positional, "parameter 'ground_truth' of r_var_positional is variadic positional"),
]


@pytest.mark.parametrize("func", REWARD_ACCEPT, ids=lambda f: f.__name__)
def test_reward_accepts(func) -> None:
    wrapped = local_osmosis_reward(func)
    assert wrapped.__wrapped__ is func
    assert inspect.signature(wrapped) == inspect.signature(func)


@pytest.mark.parametrize(("func", "message"), REWARD_REJECT, ids=lambda v: getattr(v, "__name__", "msg"))
def test_reward_rejects_with_a_fix(func, message: str) -> None:
    with pytest.raises(TypeError) as info:
        local_osmosis_reward(func)
    text = str(info.value)
    assert message in text
    assert text.startswith("@osmosis_reward: ")
    assert f"Expected: `def {func.__name__}(solution_str: str, ground_truth: str, {REWARD_EXPECTED}" in text


def n_messages(messages: list, ground_truth: str, metadata: dict = None) -> float: ...
def n_none() -> float: ...
def n_anything(x, y): ...
def n_solution_second(answer, solution_str): ...


@pytest.mark.parametrize("func", [n_messages, n_none, n_anything, n_solution_second], ids=lambda f: f.__name__)
@pytest.mark.parametrize("decorator", [local_osmosis_reward, local_osmosis_rubric], ids=["reward", "rubric"])
def test_non_classic_signatures_are_not_checked(decorator, func) -> None:
    assert decorator(func).__wrapped__ is func


def u_canonical(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float: ...
def u_plain_truth(solution_str: str, ground_truth: str, extra_info: dict) -> float: ...
def u_optional_truth(solution_str: str, ground_truth: Optional[str], extra_info: dict) -> float: ...
def u_extra_unchecked(solution_str: str, ground_truth: str, extra_info: list = None) -> float: ...
def u_extra_bare(solution_str: str, ground_truth: str, extra_info) -> float: ...
def u_forward_str(solution_str: Optional["str"], ground_truth: str, extra_info: dict) -> float: ...  # noqa: UP037


RUBRIC_ACCEPT = [u_canonical, u_plain_truth, u_optional_truth, u_extra_unchecked, u_extra_bare]


def u_two(solution_str: str, ground_truth: str) -> float: ...
def u_solution_default(solution_str: str = "", ground_truth: str = None, extra_info: dict = None) -> float: ...
def u_truth_default(solution_str: str, ground_truth: str | None = None, extra_info: dict = None) -> float: ...
def u_truth_int(solution_str: str, ground_truth: Optional[int], extra_info: dict) -> float: ...
def u_solution_bytes(solution_str: bytes, ground_truth: str, extra_info: dict) -> float: ...
def u_bad_name3(solution_str: str, ground_truth: str, metadata: dict) -> float: ...
def u_bad_name2(solution_str: str, reference: str, extra_info: dict) -> float: ...


RUBRIC_REJECT = [
    (u_two, "must have at least 3 parameters, got 2"),
    (u_solution_default, "'solution_str' cannot have a default value"),
    (u_truth_default, "'ground_truth' cannot have a default value"),
    (u_truth_int, "'ground_truth' must be annotated as str or Optional[str], got Optional[int]"),
    (u_solution_bytes, "'solution_str' must be annotated as str, got bytes"),
    (u_bad_name3, "Third parameter must be named 'extra_info', got 'metadata'"),
    (u_bad_name2, "Second parameter must be named 'ground_truth', got 'reference'"),
    (u_forward_str, "'solution_str' must be annotated as str, got Optional[str]"),
]


@pytest.mark.parametrize("func", RUBRIC_ACCEPT, ids=lambda f: f.__name__)
def test_rubric_accepts(func) -> None:
    assert local_osmosis_rubric(func).__wrapped__ is func


@pytest.mark.parametrize(("func", "message"), RUBRIC_REJECT, ids=lambda v: getattr(v, "__name__", "msg"))
def test_rubric_rejects_with_a_fix(func, message: str) -> None:
    with pytest.raises(TypeError) as info:
        local_osmosis_rubric(func)
    text = str(info.value)
    assert message in text
    assert text.startswith("@osmosis_rubric: ")
    assert f"Expected: `def {func.__name__}(solution_str: str, {RUBRIC_EXPECTED}" in text


def test_future_annotations_module_is_accepted_for_reward(tmp_path: Path) -> None:
    """A real module file with `from __future__ import annotations` (the reference reward rejects it)."""
    module_file = tmp_path / "future_reward.py"
    module_file.write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            from osmosis_local.content.decorators import local_osmosis_reward

            @local_osmosis_reward
            def score(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
                return float(solution_str == ground_truth)
            """
        ),
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("future_reward", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.score("a", "a") == 1.0


@pytest.mark.parametrize("decorator", [local_osmosis_reward, local_osmosis_rubric], ids=["reward", "rubric"])
def test_called_with_parentheses_explains_the_fix(decorator) -> None:
    with pytest.raises(TypeError, match=r"must be applied directly to a function.*not `@osmosis_\w+\(\)`"):
        decorator()


# --------------------------------------------------------------------------------------------------
# Call time: return values
# --------------------------------------------------------------------------------------------------


class MyFloat(float):
    pass


RETURN_ACCEPT = [(0.25, 0.25), (1, 1.0), (0, 0.0), (-3, -3.0), (MyFloat(0.5), 0.5), (10**20, 1e20)]
RETURN_REJECT = [
    (True, "must return a float, got bool"),
    (False, "write `return 1.0 if ok else 0.0`"),
    (None, "must return a float, got NoneType. Return `float(score)`"),
    ("0.5", "must return a float, got str"),
    ([1.0], "must return a float, got list"),
    (float("nan"), "returned nan; a score must be a finite float"),
    (float("inf"), "returned inf; a score must be a finite float"),
]


def _returning(value: Any, kind: str):
    if kind == "reward":

        def reward(solution_str: str, ground_truth: str, extra_info: dict = None) -> float:
            return value

        return local_osmosis_reward(reward)

    def rubric(solution_str: str, ground_truth: str | None, extra_info: dict) -> float:
        return value

    return local_osmosis_rubric(rubric)


@pytest.mark.parametrize("kind", ["reward", "rubric"])
@pytest.mark.parametrize(("value", "expected"), RETURN_ACCEPT, ids=repr)
def test_return_accepted_as_float(kind: str, value: Any, expected: float) -> None:
    result = _returning(value, kind)("a", "b", {})
    assert type(result) in (float, MyFloat)
    assert result == expected


@pytest.mark.parametrize("kind", ["reward", "rubric"])
@pytest.mark.parametrize(("value", "message"), RETURN_REJECT, ids=repr)
def test_return_rejected(kind: str, value: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        _returning(value, kind)("a", "b", {})
    assert message in str(info.value)


def test_non_classic_return_is_not_checked() -> None:
    def full(messages: list, ground_truth: str, metadata: dict = None) -> float:
        return "anything"

    assert local_osmosis_reward(full)([], "x") == "anything"


def test_user_exceptions_propagate() -> None:
    @local_osmosis_reward
    def broken(solution_str: str, ground_truth: str, extra_info: dict = None) -> float:
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        broken("a", "b")


# --------------------------------------------------------------------------------------------------
# Call time: data_source
# --------------------------------------------------------------------------------------------------


def _recorder(kind: str, tail: str):
    """A classic function that records its kwargs; `tail` picks how it can receive data_source."""
    seen: dict[str, Any] = {}
    if tail == "none":

        def func(solution_str: str, ground_truth: str | None, extra_info: dict = None) -> float:
            seen.update(extra_info=extra_info)
            return 1.0

    elif tail == "param":

        def func(solution_str: str, ground_truth: str | None, extra_info: dict = None, data_source=None) -> float:
            seen.update(data_source=data_source)
            return 1.0

    else:

        def func(solution_str: str, ground_truth: str | None, extra_info: dict = None, **kwargs) -> float:
            seen.update(kwargs)
            return 1.0

    decorator = local_osmosis_reward if kind == "reward" else local_osmosis_rubric
    return decorator(func), seen


@pytest.mark.parametrize("kind", ["reward", "rubric"])
@pytest.mark.parametrize(("tail", "expected"), [("none", {"extra_info": {}}), ("param", {"data_source": "gsm8k"}),
                                                ("kwargs", {"data_source": "gsm8k"})])  # fmt: skip
def test_data_source_dropped_unless_accepted(kind: str, tail: str, expected: dict) -> None:
    func, seen = _recorder(kind, tail)
    assert func(solution_str="a", ground_truth="b", extra_info={}, data_source="gsm8k") == 1.0
    assert seen == expected


def test_data_source_dropped_for_non_classic_too() -> None:
    @local_osmosis_reward
    def full(messages: list, ground_truth: str, metadata: dict = None) -> float:
        return 0.5

    assert full(messages=[], ground_truth="1", metadata={}, data_source="x") == 0.5


# --------------------------------------------------------------------------------------------------
# Call time: rubric arguments
# --------------------------------------------------------------------------------------------------


@local_osmosis_rubric
def rubric_required(solution_str: str, ground_truth: str | None, extra_info: dict) -> float:
    return 1.0


@local_osmosis_rubric
def rubric_defaulted(solution_str: str, ground_truth: str | None, extra_info: dict = None) -> float:
    return 1.0


RUBRIC_CALLS = [
    (rubric_required, (), {"solution_str": "a", "ground_truth": "b", "extra_info": {}}, None),
    (rubric_required, ("a", None, {}), {}, None),
    (rubric_defaulted, ("a", "b"), {}, None),
    (rubric_required, ("a", "b"), {}, "'extra_info' argument is required"),
    (rubric_required, (), {"ground_truth": "b", "extra_info": {}}, "'solution_str' argument is required"),
    (rubric_required, (), {"solution_str": "a", "extra_info": {}}, "'ground_truth' argument is required"),
    (rubric_required, (5, "b", {}), {}, "'solution_str' must be a string, got int"),
    (rubric_required, (None, "b", {}), {}, "'solution_str' must be a string, got NoneType"),
    (rubric_required, ("a", 5, {}), {}, "'ground_truth' must be a string or None, got int"),
    (rubric_required, ("a", "b", {}), {"unknown": 1}, "Cannot call rubric_required with these arguments"),
    (rubric_required, ("a", "b", {}, "extra"), {}, "Cannot call rubric_required with these arguments"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "error"), RUBRIC_CALLS)
def test_rubric_call_time_checks(func, args: tuple, kwargs: dict, error: str | None) -> None:
    if error is None:
        assert func(*args, **kwargs) == 1.0
        return
    with pytest.raises(TypeError) as info:
        func(*args, **kwargs)
    assert error in str(info.value)


def test_reward_has_no_call_time_argument_checks() -> None:
    @local_osmosis_reward
    def reward(solution_str: str, ground_truth: str, extra_info: dict = None) -> float:
        return 0.0 if solution_str is None else 1.0

    assert reward(None, 5) == 0.0


# --------------------------------------------------------------------------------------------------
# Async and functools.wraps
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reward", "rubric"])
def test_async_functions_get_async_wrappers_with_the_same_checks(kind: str) -> None:
    async def good(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
        await asyncio.sleep(0)
        return 1

    async def bad(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
        return "1"

    decorator = local_osmosis_reward if kind == "reward" else local_osmosis_rubric
    good_wrapped, bad_wrapped = decorator(good), decorator(bad)
    assert inspect.iscoroutinefunction(good_wrapped)
    result = asyncio.run(good_wrapped("a", "b", {}, data_source="ds"))
    assert result == 1.0 and type(result) is float
    with pytest.raises(TypeError, match="must return a float, got str"):
        asyncio.run(bad_wrapped("a", "b", {}))


def test_async_rubric_checks_arguments_before_awaiting() -> None:
    calls = []

    @local_osmosis_rubric
    async def rubric(solution_str: str, ground_truth: str | None, extra_info: dict) -> float:
        calls.append(1)
        return 1.0

    with pytest.raises(TypeError, match="'solution_str' must be a string"):
        asyncio.run(rubric(1, "b", {}))
    assert calls == []


def test_wraps_keeps_name_doc_and_signature() -> None:
    def reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
        """Docstring kept."""
        return 1.0

    wrapped = local_osmosis_reward(reward)
    assert wrapped.__name__ == "reward"
    assert wrapped.__doc__ == "Docstring kept."
    assert wrapped.__wrapped__ is reward
    assert str(inspect.signature(wrapped)) == str(inspect.signature(reward))


# --------------------------------------------------------------------------------------------------
# Re-export of the real SDK's decorators (fake `osmosis_ai` packages in a subprocess)
# --------------------------------------------------------------------------------------------------

FAKE_SDKS = {
    "full": """
        def osmosis_reward(func):
            func.decorated_by = "sdk-reward"
            return func

        def osmosis_rubric(func):
            func.decorated_by = "sdk-rubric"
            return func
    """,
    "reward_only": """
        def osmosis_reward(func):
            func.decorated_by = "sdk-reward"
            return func
    """,
    "no_decorators": """
        __version__ = "0.0.0"
    """,
    "broken": """
        raise RuntimeError("half-installed")
    """,
    # The reference's own strict rules (docs/contract.md §1): identity checks on annotations, float-only results.
    "strict": """
        import functools, inspect

        def osmosis_reward(func):
            params = list(inspect.signature(func).parameters.values())
            if params and params[0].name == "solution_str":
                if len(params) < 3:
                    raise TypeError("Function must have at least 3 parameters")
                if params[0].annotation is not str:
                    raise TypeError("First parameter 'solution_str' must be annotated as str")
                if params[1].name != "ground_truth" or params[1].annotation is not str:
                    raise TypeError("Second parameter must be ground_truth: str")
                if params[2].name != "extra_info":
                    raise TypeError("Third parameter must be named 'extra_info'")
                ann = params[2].annotation
                if ann is not dict and not (getattr(ann, "__args__", None) and
                        tuple(a for a in ann.__args__ if a is not type(None)) == (dict,)):
                    raise TypeError("extra_info must be annotated as dict")
                if params[2].default is inspect.Parameter.empty:
                    raise TypeError("extra_info must have a default value of None")
                classic = True
            else:
                classic = False

            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                kwargs.pop("data_source", None)
                result = func(*args, **kwargs)
                if classic and not isinstance(result, float):
                    raise TypeError(f"must return a float, got {type(result).__name__}")
                return result

            wrapper.decorated_by = "sdk-strict"
            return wrapper

        def osmosis_rubric(func):
            return func
    """,
}


def _run_with_fake_sdk(tmp_path: Path, sdk: str, script: str) -> dict:
    package = tmp_path / "osmosis_ai"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(FAKE_SDKS[sdk]), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    completed = subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return {"result": json.loads(completed.stdout.strip().splitlines()[-1]), "stderr": completed.stderr}


REEXPORT_SCRIPT = """
    import json
    import osmosis_local
    from osmosis_local.content import decorators
    print(json.dumps({
        "reward_is_sdk": decorators.osmosis_reward is getattr(__import__("osmosis_ai"), "osmosis_reward", None),
        "rubric_is_sdk": decorators.osmosis_rubric is getattr(__import__("osmosis_ai"), "osmosis_rubric", None),
        "top_level_same": osmosis_local.osmosis_reward is decorators.osmosis_reward,
        "reexported": sorted(decorators.SDK_REEXPORTED),
    }))
"""


@pytest.mark.parametrize(
    ("sdk", "reward_is_sdk", "rubric_is_sdk", "reexported"),
    [
        ("full", True, True, ["osmosis_reward", "osmosis_rubric"]),
        ("reward_only", True, False, ["osmosis_reward"]),
        ("no_decorators", False, False, []),
    ],
)
def test_sdk_decorators_are_reexported_when_installed(
    tmp_path: Path, sdk: str, reward_is_sdk: bool, rubric_is_sdk: bool, reexported: list
) -> None:
    result = _run_with_fake_sdk(tmp_path, sdk, REEXPORT_SCRIPT)["result"]
    assert result == {
        "reward_is_sdk": reward_is_sdk,
        "rubric_is_sdk": rubric_is_sdk,
        "top_level_same": True,
        "reexported": reexported,
    }


def test_broken_sdk_falls_back_to_local_with_a_warning(tmp_path: Path) -> None:
    script = """
        import json
        from osmosis_local.content import decorators
        print(json.dumps(decorators.osmosis_reward is decorators.local_osmosis_reward))
    """
    run = _run_with_fake_sdk(tmp_path, "broken", script)
    assert run["result"] is True
    assert "osmosis_ai is installed but failed to import (RuntimeError: half-installed)" in run["stderr"]


def test_without_sdk_the_local_decorators_are_public() -> None:
    assert decorators.SDK_REEXPORTED == frozenset()
    assert osmosis_local.osmosis_reward is local_osmosis_reward
    assert osmosis_local.osmosis_rubric is local_osmosis_rubric


def test_reward_fn_content_passes_the_strict_reference_decorator(tmp_path: Path) -> None:
    """Under the platform the content imports `osmosis_ai.osmosis_reward`; it must pass its identity checks."""
    script = """
        import json
        from reward_fn.compute_reward import numbers_match_reward
        from reward_fn.tool_use_reward import tool_use_reward
        messages = [{"role": "assistant", "content": "#### 4"}]
        print(json.dumps({
            "numbers": [numbers_match_reward.decorated_by, numbers_match_reward("#### 4", "4", {}, data_source="d")],
            "tools": [tool_use_reward.decorated_by, tool_use_reward(messages, "4", {})],
        }))
    """
    result = _run_with_fake_sdk(tmp_path, "strict", script)["result"]
    assert result == {"numbers": ["sdk-strict", 1.0], "tools": ["sdk-strict", 0.5]}
