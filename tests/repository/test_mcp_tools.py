"""The arithmetic tools in mcp/, exercised through a real in-memory ``fastmcp.Client``.

Why through a client: that is how the tools are reached in practice (schema validation, the
``ToolError`` -> error-result path, result serialisation), so the tests cover what the model sees.
Tables list happy paths (with exact result *types*: whole results must be ints), exactness cases
that binary floats get wrong, and every refusal with the text the model receives.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastmcp import Client, FastMCP
from mcp_servers import TOOL_NAMES, load_calc, load_tool_server


@pytest.fixture(scope="module")
def server() -> FastMCP:
    return load_tool_server()


def call_all(server: FastMCP, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Make the calls in order in one client session; errors come back as results, not raises."""

    async def run() -> list[Any]:
        async with Client(server) as client:
            return [await client.call_tool(name, args, raise_on_error=False) for name, args in calls]

    return asyncio.run(run())


def call(server: FastMCP, name: str, args: dict[str, Any]) -> Any:
    return call_all(server, [(name, args)])[0]


def case_id(tool: str, args: dict[str, Any]) -> str:
    """Readable, short test id: huge integers are shown as 10**k-ish lengths."""
    shown = ",".join(
        f"{key}={value!r}" if len(repr(value)) <= 24 else f"{key}=<{len(repr(value))} chars>"
        for key, value in args.items()
    )
    return f"{tool}({shown})"


def text_of(result: Any) -> str:
    return "\n".join(item.text for item in result.content)


# ---------------------------------------------------------------------------------------------
# Tool listing: names, order, descriptions (the dataset and the SDK rely on these)
# ---------------------------------------------------------------------------------------------


def test_lists_all_tools_in_order_with_described_parameters(server: FastMCP) -> None:
    async def run() -> list[Any]:
        async with Client(server) as client:
            return await client.list_tools()

    tools = asyncio.run(run())
    assert [tool.name for tool in tools] == TOOL_NAMES
    for tool in tools:
        assert tool.description and len(tool.description) > 20, tool.name
        properties = tool.input_schema["properties"]
        assert properties, tool.name
        for param, schema in properties.items():
            assert schema.get("description"), f"{tool.name}.{param} has no description"
            assert "anyOf" not in schema, f"{tool.name}.{param}: the SDK would drop the description"
    arguments = {tool.name: list(tool.input_schema["properties"]) for tool in tools}
    assert arguments["power"] == ["base", "exponent"]
    assert arguments["square_root"] == ["x"]
    assert arguments["round_number"] == ["x", "decimals"]
    decimals = next(t for t in tools if t.name == "round_number").input_schema["properties"]["decimals"]
    bounds = (decimals["type"], decimals["minimum"], decimals["maximum"], decimals["default"])
    assert bounds == ("integer", -10, 15, 0)


# ---------------------------------------------------------------------------------------------
# Happy paths and exactness: value AND type (int for whole results, float otherwise)
# ---------------------------------------------------------------------------------------------

HAPPY = [
    # add / subtract / multiply: exact decimals, unbounded ints
    ("add", {"a": 2, "b": 3}, 5),
    ("add", {"a": 0.1, "b": 0.2}, 0.3),
    ("add", {"a": 10**30, "b": 1}, 10**30 + 1),
    ("add", {"a": -5, "b": 2.5}, -2.5),
    ("add", {"a": 2.0, "b": 3.0}, 5),
    ("add", {"a": 1e20, "b": 1}, 10**20 + 1),
    ("add", {"a": 123456789.12345679, "b": 0}, 123456789.12345679),
    ("subtract", {"a": 0.3, "b": 0.1}, 0.2),
    ("subtract", {"a": 5, "b": 8}, -3),
    ("subtract", {"a": 10**1000, "b": 1}, 10**1000 - 1),
    ("multiply", {"a": 1.1, "b": 1.1}, 1.21),
    ("multiply", {"a": 0.1, "b": 3}, 0.3),
    ("multiply", {"a": 2**64, "b": 2**64}, 2**128),
    ("multiply", {"a": -4, "b": 2.5}, -10),
    ("multiply", {"a": 1e300, "b": 1e300}, 10**600),
    # divide: exact when terminating, 15 significant digits otherwise
    ("divide", {"a": 7, "b": 2}, 3.5),
    ("divide", {"a": 6, "b": 3}, 2),
    ("divide", {"a": 0.3, "b": 0.1}, 3),
    ("divide", {"a": 1, "b": 8}, 0.125),
    ("divide", {"a": 1, "b": 3}, 0.333333333333333),
    ("divide", {"a": 2, "b": 3}, 0.666666666666667),
    ("divide", {"a": -1, "b": 3}, -0.333333333333333),
    ("divide", {"a": 10**30, "b": 10**15}, 10**15),
    # power
    ("power", {"base": 2, "exponent": 10}, 1024),
    ("power", {"base": 2, "exponent": -2}, 0.25),
    ("power", {"base": 0.5, "exponent": -3}, 8),
    ("power", {"base": -2, "exponent": 3}, -8),
    ("power", {"base": 1.1, "exponent": 2}, 1.21),
    ("power", {"base": 4, "exponent": 0.5}, 2),
    ("power", {"base": 0.25, "exponent": 1.5}, 0.125),
    ("power", {"base": 2, "exponent": 0.5}, 1.4142135623731),
    ("power", {"base": 27, "exponent": 1 / 3}, 3.0),  # 1/3 is not exactly a third: not whole
    ("power", {"base": 0, "exponent": 0}, 1),
    ("power", {"base": 0, "exponent": 5}, 0),
    ("power", {"base": -1, "exponent": 10**100 + 1}, -1),
    ("power", {"base": 10, "exponent": 1000}, 10**1000),
    ("power", {"base": 3, "exponent": 2.0}, 9),
    # square_root
    ("square_root", {"x": 144}, 12),
    ("square_root", {"x": 2.25}, 1.5),
    ("square_root", {"x": 0}, 0),
    ("square_root", {"x": 0.0001}, 0.01),
    ("square_root", {"x": 10**200}, 10**100),
    ("square_root", {"x": 2}, 1.4142135623731),
    ("square_root", {"x": 10}, 3.16227766016838),
    # modulo: Python's sign rule, exact decimals
    ("modulo", {"a": 7, "b": 3}, 1),
    ("modulo", {"a": -7, "b": 3}, 2),
    ("modulo", {"a": 7, "b": -3}, -2),
    ("modulo", {"a": 5.5, "b": 2}, 1.5),
    ("modulo", {"a": 0.3, "b": 0.1}, 0),
    ("modulo", {"a": 10**100 + 7, "b": 10}, 7),
    # round_number: half away from zero on the exact decimal
    ("round_number", {"x": 2.5}, 3),
    ("round_number", {"x": -2.5}, -3),
    ("round_number", {"x": 2.4}, 2),
    ("round_number", {"x": 2.675, "decimals": 2}, 2.68),
    ("round_number", {"x": 1.005, "decimals": 2}, 1.01),
    ("round_number", {"x": 0.125, "decimals": 2}, 0.13),
    ("round_number", {"x": 3.14159, "decimals": 3}, 3.142),
    ("round_number", {"x": 1234.5678, "decimals": -2}, 1200),
    ("round_number", {"x": 7, "decimals": 2}, 7),
    ("round_number", {"x": 2.0001, "decimals": 2}, 2),
]


@pytest.mark.parametrize(("tool", "args", "expected"), HAPPY, ids=[case_id(t, a) for t, a, _ in HAPPY])
def test_tool_returns_exact_json_number(
    server: FastMCP, tool: str, args: dict[str, Any], expected: int | float
) -> None:
    result = call(server, tool, args)
    assert not result.is_error, text_of(result)
    value = result.structured_content["result"]
    assert value == expected
    assert type(value) is type(expected), f"{tool}{args} returned {value!r}, want {expected!r}"
    assert result.data == expected
    assert text_of(result) == str(expected)


# ---------------------------------------------------------------------------------------------
# Refusals: a clear error result (not a crash), with text the model can act on
# ---------------------------------------------------------------------------------------------

ERRORS = [
    ("divide", {"a": 1, "b": 0}, "Cannot divide by zero: b must be non-zero."),
    ("divide", {"a": 0.0, "b": 0.0}, "Cannot divide by zero"),
    ("modulo", {"a": 5, "b": 0}, "Cannot take a remainder modulo zero: b must be non-zero."),
    ("square_root", {"x": -4}, "Cannot take the square root of a negative number"),
    ("power", {"base": 0, "exponent": -1}, "Cannot raise 0 to a negative power"),
    ("power", {"base": -8, "exponent": 0.5}, "negative base to a fractional exponent"),
    ("power", {"base": 10, "exponent": 10**10}, "would have about 10000000001 digits"),
    ("power", {"base": 2, "exponent": 1e300}, "The result is too large"),
    ("power", {"base": 0.1, "exponent": 400}, "too close to zero"),
    ("add", {"a": 10**1000, "b": 1}, "The result is too large"),
    ("multiply", {"a": 10**600, "b": 10**600}, "The result is too large"),
    ("add", {"a": 10**1001, "b": 0}, "a is too large"),
    ("add", {"a": 10**400, "b": 0.5}, "fractional part and is too large"),
    ("multiply", {"a": 1e-200, "b": 1e-200}, "too close to zero"),
    ("add", {"a": "7", "b": 1}, "got the string '7'; send the number without quotes"),  # strings are not numbers
    ("add", {"a": "nan", "b": 1}, "got the string 'nan'"),
    ("subtract", {"a": 1, "b": "inf"}, "got the string 'inf'"),
    ("add", {"a": None, "b": 1}, "got null (NaN and Infinity are not JSON numbers"),
    ("add", {"a": True, "b": 1}, "boolean"),
    ("add", {"a": "abc", "b": 1}, "got the string 'abc'"),
    ("add", {"a": [1], "b": 1}, "valid"),
    ("add", {"a": 1}, "Missing required argument"),
    ("round_number", {"x": 1.5, "decimals": 16}, "less than or equal to 15"),
    ("round_number", {"x": 1.5, "decimals": -11}, "greater than or equal to -10"),
    ("round_number", {"x": 1.5, "decimals": 2.5}, "integer"),
    ("round_number", {"x": 1.5, "decimals": True}, "boolean"),
    ("sqrt", {"x": 4}, "sqrt"),
]


@pytest.mark.parametrize(("tool", "args", "message"), ERRORS, ids=[case_id(t, a) for t, a, _ in ERRORS])
def test_bad_input_is_an_error_result_and_the_next_call_works(
    server: FastMCP, tool: str, args: dict[str, Any], message: str
) -> None:
    failed, after = call_all(server, [(tool, args), ("add", {"a": 2, "b": 3})])
    assert failed.is_error
    assert message in text_of(failed)
    assert "Traceback" not in text_of(failed)
    assert not after.is_error and after.data == 5


def test_huge_power_is_refused_before_being_computed(server: FastMCP) -> None:
    started = time.perf_counter()
    huge = [("power", {"base": 10, "exponent": 10**900}), ("power", {"base": 7, "exponent": 10**6})]
    results = call_all(server, huge)
    assert all(r.is_error for r in results)
    assert time.perf_counter() - started < 5  # computing either would take far longer (or forever)


def test_many_errors_in_one_session_leave_the_server_usable(server: FastMCP) -> None:
    calls = [(tool, args) for tool, args, _ in ERRORS] + [("divide", {"a": 1, "b": 4})]
    results = call_all(server, calls)
    assert all(r.is_error for r in results[:-1])
    assert results[-1].data == 0.25


# ---------------------------------------------------------------------------------------------
# The pure layer works without MCP (the tool functions are thin wrappers around it)
# ---------------------------------------------------------------------------------------------


def test_calc_package_is_usable_without_mcp() -> None:
    calc = load_calc()
    assert calc.add(0.1, 0.2) == 0.3
    assert calc.power(2, 100) == 2**100
    assert calc.round_number(2.5) == 3
    with pytest.raises(calc.CalculationError, match="Cannot divide by zero"):
        calc.divide(1, 0)
    with pytest.raises(calc.CalculationError, match="decimals must be between -10 and 15"):
        calc.round_number(1, 99)
    with pytest.raises(calc.CalculationError, match="not a boolean"):
        calc.add(True, 1)
