"""MCP tool -> OpenAI function tool conversion (docs/contract.md, weak spots 5-6).

Covers raw schemas and real FastMCP tools.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Optional

import fastmcp
import pytest
from pydantic import BaseModel, Field

from osmosis_local.tools.schema import (
    ToolSchemaError,
    convert_tool,
    convert_tools,
    load_openai_tools,
)


def params_of(schema: dict) -> tuple[dict, list[str]]:
    tool, warnings = convert_tool({"name": "t", "description": "d", "inputSchema": schema})
    return tool["function"]["parameters"], warnings


def obj(props: dict, required: list[str] | None = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required is not None:
        out["required"] = required
    return out


# (case id, input schema, expected parameters, expected warning fragments)
CASES = [
    (
        "integer stays integer, number stays number, titles dropped",
        obj({"a": {"type": "integer", "title": "A"}, "b": {"type": "number", "title": "B"}}, ["a", "b"], title="Args"),
        obj({"a": {"type": "integer"}, "b": {"type": "number"}}, ["a", "b"]),
        [],
    ),
    (
        "array items kept",
        obj({"xs": {"type": "array", "items": {"type": "integer"}, "minItems": 1}}),
        obj({"xs": {"type": "array", "items": {"type": "integer"}, "minItems": 1}}),
        [],
    ),
    (
        "array without items gets items {} and a warning",
        obj({"xs": {"type": "array"}}),
        obj({"xs": {"type": "array", "items": {}}}),
        ["parameter 'xs' is an array without `items`"],
    ),
    (
        "nested object properties kept",
        obj({"p": obj({"x": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}}, ["x"])}),
        obj({"p": obj({"x": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}}, ["x"])}),
        [],
    ),
    (
        "enum of any JSON type, default, description, bounds",
        obj({"k": {"enum": [1, "two", 3.5, True], "default": 1, "description": "pick"},
             "n": {"type": "integer", "minimum": 0, "maximum": 10, "exclusiveMaximum": 11}}),
        obj({"k": {"enum": [1, "two", 3.5, True], "default": 1, "description": "pick"},
             "n": {"type": "integer", "minimum": 0, "maximum": 10, "exclusiveMaximum": 11}}),
        [],
    ),
    (
        "local $defs refs are inlined, sibling description kept",
        {"type": "object", "$defs": {"P": obj({"x": {"type": "number", "title": "X"}}, ["x"], title="P")},
         "properties": {"p": {"$ref": "#/$defs/P", "description": "a point"}}, "required": ["p"]},
        obj({"p": {**obj({"x": {"type": "number"}}, ["x"]), "description": "a point"}}, ["p"]),
        [],
    ),
    (
        "draft-7 definitions refs are inlined too",
        {"type": "object", "definitions": {"E": {"type": "string", "enum": ["a", "b"]}},
         "properties": {"e": {"allOf": [{"$ref": "#/definitions/E"}], "default": "a"}}},
        obj({"e": {"type": "string", "enum": ["a", "b"], "default": "a"}}),
        [],
    ),
    (
        "anyOf [X, null] becomes X and drops default null",
        obj({"o": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "O"}}),
        obj({"o": {"type": "integer"}}),
        [],
    ),
    (
        "anyOf [X, null] keeps a non-null default and the description",
        obj({"o": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": "x", "description": "D"}}),
        obj({"o": {"type": "string", "default": "x", "description": "D"}}),
        [],
    ),
    (
        "type list with null is reduced",
        obj({"o": {"type": ["number", "null"], "enum": [1, 2, None]}}),
        obj({"o": {"type": "number", "enum": [1, 2]}}),
        [],
    ),
    (
        "a real union stays anyOf (null removed)",
        obj({"u": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}}),
        obj({"u": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}),
        [],
    ),
    (
        "oneOf is treated like anyOf",
        obj({"u": {"oneOf": [{"type": "integer"}, {"type": "null"}]}}),
        obj({"u": {"type": "integer"}}),
        [],
    ),
    (
        "dict values schema kept",
        obj({"d": {"type": "object", "additionalProperties": {"type": "integer", "title": "V"}}}),
        obj({"d": {"type": "object", "additionalProperties": {"type": "integer"}}}),
        [],
    ),
    (
        "tuple prefixItems become items",
        obj(
            {
                "t": {
                    "type": "array",
                    "prefixItems": [{"type": "integer"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                }
            }
        ),
        obj(
            {
                "t": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "minItems": 2,
                    "maxItems": 2,
                }
            }
        ),
        [],
    ),
    (
        "recursive refs are cut with a warning",
        {"type": "object", "$defs": {"N": obj({"kids": {"type": "array", "items": {"$ref": "#/$defs/N"}}})},
         "properties": {"n": {"$ref": "#/$defs/N"}}},
        obj({"n": obj({"kids": {"type": "array", "items": {}}})}),
        ["parameter 'n.kids[]' is recursive"],
    ),
    (
        "unresolvable ref becomes {} with a warning",
        obj({"r": {"$ref": "https://example.invalid/schema.json"}}),
        obj({"r": {}}),
        ["can't be resolved"],
    ),
    (
        "unknown keywords dropped, missing properties added, required pruned",
        {"type": "object", "$schema": "x", "x-custom": 1, "required": ["ghost"], "properties": {}},
        {"type": "object", "required": [], "properties": {}},
        [],
    ),
    (
        "no schema at all",
        {"type": "object"},
        {"type": "object", "properties": {}},
        [],
    ),
]


@pytest.mark.parametrize(("case", "schema", "expected", "warn_parts"), CASES, ids=[c[0] for c in CASES])
def test_schema_conversion(case: str, schema: dict, expected: dict, warn_parts: list[str]) -> None:
    params, warnings = params_of(schema)
    assert params == expected
    assert len(warnings) == len(warn_parts)
    for fragment, warning in zip(warn_parts, warnings, strict=True):
        assert fragment in warning
        assert warning.startswith("tool 't': ")


def test_input_is_not_mutated() -> None:
    schema = obj({"o": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}})
    before = repr(schema)
    params_of(schema)
    assert repr(schema) == before


@pytest.mark.parametrize(
    ("description", "expected"),
    [("Adds.", "Adds."), (None, "Tool: t"), ("   ", "Tool: t")],
)
def test_description_fallback(description: str | None, expected: str) -> None:
    tool, _ = convert_tool({"name": "t", "description": description, "inputSchema": obj({})})
    assert tool == {
        "type": "function",
        "function": {"name": "t", "description": expected, "parameters": obj({})},
    }


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("add", True),
        ("square_root", True),
        ("tool-2", True),
        ("9lives", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("has space", False),
        ("dotted.name", False),
        ("ünïcode", False),
    ],
)
def test_tool_name_rule(name: str, ok: bool) -> None:
    tool = {"name": name, "description": "d", "inputSchema": obj({})}
    if ok:
        assert convert_tool(tool)[0]["function"]["name"] == name
    else:
        with pytest.raises(ToolSchemaError) as info:
            convert_tool(tool)
        assert f"tool name {name!r} is invalid" in str(info.value)
        assert "^[A-Za-z0-9_-]{1,64}$" in str(info.value)


def test_parameters_must_be_an_object_schema() -> None:
    with pytest.raises(ToolSchemaError, match="tool 't': parameters must be an object schema, got type 'string'"):
        convert_tool({"name": "t", "inputSchema": {"type": "string"}})


def test_convert_tools_reports_every_bad_tool_and_duplicates() -> None:
    tools = [
        {"name": "ok", "inputSchema": obj({})},
        {"name": "bad name", "inputSchema": obj({})},
        {"name": "ok", "inputSchema": obj({})},
        {"name": "arr", "inputSchema": {"type": "array"}},
    ]
    with pytest.raises(ToolSchemaError) as info:
        convert_tools(tools)
    errors = info.value.errors
    assert len(errors) == 3
    assert "'bad name' is invalid" in errors[0]
    assert "two tools are named 'ok'" in errors[1]
    assert "tool 'arr': parameters must be an object schema" in errors[2]
    assert str(info.value).startswith("Tool validation error: ")


# ------------------------------------------------------------------ real FastMCP tools


class Point(BaseModel):
    x: float
    y: float = 0.0


class Shape(BaseModel):
    name: str
    points: list[Point]
    kind: Literal["polygon", "line"] = "polygon"


def _server() -> fastmcp.FastMCP:
    server = fastmcp.FastMCP("schemas")

    @server.tool
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.tool
    def count(items: list[int], limit: Optional[int] = None) -> int:
        return len(items[:limit])

    @server.tool
    def area(shape: Shape, scale: int = Field(1, ge=1, le=100, description="Scale factor")) -> float:
        """Area of a shape."""
        return 0.0

    @server.tool
    def lookup(table: dict[str, float], key: str, mode: Literal["exact", "prefix"] = "exact") -> float:
        return table.get(key, 0.0)

    @server.tool
    def disabled_tool() -> str:
        return "hidden"

    server.disable(names={"disabled_tool"})
    return server


def test_real_fastmcp_tools_convert_losslessly() -> None:
    tools, warnings = asyncio.run(load_openai_tools(_server()))
    assert warnings == []
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    assert list(by_name) == ["add", "count", "area", "lookup"]  # server order; disabled tool hidden

    assert by_name["add"]["description"] == "Add two numbers."
    assert by_name["add"]["parameters"]["properties"] == {"a": {"type": "number"}, "b": {"type": "number"}}
    assert by_name["add"]["parameters"]["required"] == ["a", "b"]

    count = by_name["count"]
    assert count["description"] == "Tool: count"
    assert count["parameters"]["properties"] == {
        "items": {"type": "array", "items": {"type": "integer"}},
        "limit": {"type": "integer"},
    }
    assert count["parameters"]["required"] == ["items"]

    shape = by_name["area"]["parameters"]["properties"]["shape"]
    assert shape["type"] == "object"
    assert shape["required"] == ["name", "points"]
    assert shape["properties"]["points"] == {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
            "required": ["x"],
        },
    }
    assert shape["properties"]["kind"] == {"type": "string", "enum": ["polygon", "line"], "default": "polygon"}
    assert by_name["area"]["parameters"]["properties"]["scale"] == {
        "type": "integer",
        "default": 1,
        "description": "Scale factor",
        "minimum": 1,
        "maximum": 100,
    }

    lookup = by_name["lookup"]["parameters"]["properties"]
    assert lookup["table"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert lookup["mode"] == {"type": "string", "enum": ["exact", "prefix"], "default": "exact"}

    for tool in tools:  # nothing left that providers reject
        assert "title" not in repr(tool) and "$ref" not in repr(tool) and "$defs" not in repr(tool)


def test_load_openai_tools_accepts_an_open_client() -> None:
    async def run():
        async with fastmcp.Client(_server()) as client:
            return await load_openai_tools(client)

    tools, _ = asyncio.run(run())
    assert [t["function"]["name"] for t in tools] == ["add", "count", "area", "lookup"]


def test_mcp_tool_objects_are_accepted() -> None:
    import mcp.types

    tool = mcp.types.Tool(name="sq", description="Square.", inputSchema=obj({"x": {"type": "number"}}, ["x"]))
    converted, warnings = convert_tool(tool)
    assert converted["function"]["parameters"] == obj({"x": {"type": "number"}}, ["x"])
    assert warnings == []
