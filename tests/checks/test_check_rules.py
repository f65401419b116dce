"""Table-driven tests of the rules `check` applies: the original SDK's signature rules and the schema rules.

No `from __future__ import annotations` here: the SDK's reward rules judge annotations as written.
"""

from typing import Any, Optional

import pytest

from osmosis_local.checks.schema_checks import provider_problems, sdk_losses
from osmosis_local.checks.sdk_rules import sdk_reward_problem, sdk_rubric_problem


def reward_ok(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float: ...
def reward_optional_dict(solution_str: str, ground_truth: str, extra_info: Optional[dict] = None) -> float: ...  # noqa: UP045
def reward_union_dict(solution_str: str, ground_truth: str, extra_info: dict | None = None) -> float: ...
def reward_optional_truth(solution_str: str, ground_truth: Optional[str], extra_info: dict = None) -> float: ...  # noqa: UP045
def reward_string_annotation(solution_str: "str", ground_truth: str, extra_info: dict = None) -> float: ...  # noqa: UP037
def reward_typed_dict(solution_str: str, ground_truth: str, extra_info: dict[str, Any] = None) -> float: ...
def reward_no_default(solution_str: str, ground_truth: str, extra_info: dict) -> float: ...
def reward_two_params(solution_str: str, ground_truth: str) -> float: ...
def reward_wrong_name(solution_str: str, truth: str, extra_info: dict = None) -> float: ...
def reward_metadata(solution_str: str, ground_truth: str, metadata: dict = None) -> float: ...
def reward_full_mode(messages: list, ground_truth: str, metadata: dict = None) -> float: ...


# (function, SDK error part or None when the SDK accepts it)
REWARD_CASES = [
    (reward_ok, None),
    (reward_optional_dict, None),
    (reward_union_dict, None),
    (reward_full_mode, None),  # not classic: the SDK checks nothing
    (reward_optional_truth, "'ground_truth' must be annotated as str, got Optional[str]"),
    (reward_string_annotation, "'solution_str' must be annotated as str, got the string 'str'"),
    (reward_typed_dict, "'extra_info' must be annotated as dict or dict | None"),
    (reward_no_default, "must have a default value of None"),
    (reward_two_params, "must have at least 3 parameters, got 2"),
    (reward_wrong_name, "Second parameter must be named 'ground_truth', got 'truth'"),
    (reward_metadata, "Third parameter must be named 'extra_info', got 'metadata'"),
]


@pytest.mark.parametrize(("fn", "expected"), REWARD_CASES, ids=[c[0].__name__ for c in REWARD_CASES])
def test_sdk_reward_rules(fn, expected):
    problem = sdk_reward_problem(fn)
    assert (problem is None) if expected is None else (problem is not None and expected in problem), problem


def rubric_ok(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float: ...
def rubric_string_annotations(solution_str: "str", ground_truth: "Optional[str]", extra_info: "dict") -> float: ...  # noqa: UP037, UP045
def rubric_solution_default(solution_str: str = "", ground_truth: str | None = None, extra_info: dict = None): ...
def rubric_truth_default(solution_str: str, ground_truth: str | None = None, extra_info: dict = None) -> float: ...
def rubric_truth_int(solution_str: str, ground_truth: int, extra_info: dict) -> float: ...
def rubric_extra_any(solution_str: str, ground_truth: str, extra_info) -> float: ...


RUBRIC_CASES = [
    (rubric_ok, None),
    (rubric_string_annotations, None),  # the SDK resolves rubric annotations
    (rubric_extra_any, None),  # extra_info's annotation is not checked
    (rubric_solution_default, "'solution_str' cannot have a default value"),
    (rubric_truth_default, "'ground_truth' cannot have a default value"),
    (rubric_truth_int, "'ground_truth' must be annotated as str or Optional[str]"),
]


@pytest.mark.parametrize(("fn", "expected"), RUBRIC_CASES, ids=[c[0].__name__ for c in RUBRIC_CASES])
def test_sdk_rubric_rules(fn, expected):
    problem = sdk_rubric_problem(fn)
    assert (problem is None) if expected is None else (problem is not None and expected in problem), problem


def _params(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


# (parameters schema, codes expected)
SCHEMA_CASES = [
    (_params(x={"type": "number", "description": "x"}), []),
    (_params(xs={"type": "array", "description": "xs"}), ["schema-array-without-items"]),
    (_params(xs={"type": "array", "items": {}, "description": "xs"}), ["schema-untyped-items"]),
    (_params(xs={"type": "array", "items": {"type": "array"}}), ["schema-array-without-items"]),  # nested
    (_params(m={"type": "integer", "enum": [1, 2]}), ["schema-enum-not-strings"]),
    (_params(m={"type": "string", "enum": []}), ["schema-empty-enum"]),
    (_params(**{"bad name": {"type": "string"}}), ["schema-bad-property-name"]),
    ({"type": "object", "properties": {}, "required": ["ghost"]}, ["schema-required-unknown"]),
    ({"type": "string"}, ["schema-not-object"]),
    (
        {"type": "object", "$defs": {"Xs": {"type": "array"}}, "properties": {"xs": {"$ref": "#/$defs/Xs"}}},
        ["schema-array-without-items"],
    ),
]


@pytest.mark.parametrize(("parameters", "codes"), SCHEMA_CASES)
def test_provider_problems(parameters, codes):
    assert [p.code for p in provider_problems(parameters)] == codes


# (one parameter's schema, what the SDK's flattening drops)
LOSS_CASES = [
    ({"type": "number", "description": "A number."}, []),
    ({"type": "integer", "description": "A count."}, ["integer (sent as number: the model may send 2.5)"]),
    ({"type": "integer", "description": "A whole number of days."}, []),
    ({"type": "integer", "description": "Whole days, 1 to 7.", "minimum": 1, "maximum": 7}, []),
    ({"type": "number", "description": "A ratio.", "maximum": 1}, ["maximum 1"]),
    ({"type": "number", "description": "A ratio.", "default": 0.5}, ["default 0.5"]),
    ({"type": "array", "items": {"type": "number"}, "description": "xs"}, ["the array's item schema"]),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "description": "o"},
     ["the nested object's properties"]),
    ({"anyOf": [{"type": "string"}, {"type": "null"}], "description": "s"}, []),
    (
        {"anyOf": [{"type": "string"}, {"type": "number"}], "description": "s"},
        ["all but the first of 2 alternatives (anyOf)"],
    ),
]


@pytest.mark.parametrize(("schema", "lost"), LOSS_CASES)
def test_sdk_losses(schema, lost):
    assert sdk_losses(_params(p=schema)).get("p", []) == lost
