"""ToolRunner (docs/contract.md §4 "Running a tool call" and weak spot 8).

Uses a real in-memory fastmcp.Client over a tmp FastMCP server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import fastmcp
import pytest
from fastmcp.exceptions import ToolError

from osmosis_local.tools.runner import (
    ToolCallOutcome,
    ToolRunner,
    ToolTransportError,
    format_tool_value,
)


def _server() -> fastmcp.FastMCP:
    server = fastmcp.FastMCP("runner-test")

    @server.tool
    def add(a: float, b: float) -> float:
        return a + b

    @server.tool
    def count(n: int) -> int:
        return n

    @server.tool
    def echo(text: str) -> str:
        return text

    @server.tool
    def flag(on: bool) -> bool:
        return on

    @server.tool
    def pair(a: int, b: int) -> dict:
        return {"a": a, "b": b}

    @server.tool
    def listing() -> list:
        return [1, "two"]

    @server.tool
    def nothing() -> None:
        return None

    @server.tool
    def refuse(x: int) -> int:
        raise ToolError(f"cannot handle {x}")

    @server.tool
    def crash(x: int) -> int:
        raise ValueError("division by zero is undefined")

    @server.tool
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    return server


async def _run(calls: list[tuple[str, Any]], *, timeout_s: float = 20.0) -> list[ToolCallOutcome]:
    async with ToolRunner(_server(), timeout_s=timeout_s) as runner:
        return [await runner.call(name, args, call_id=f"call_{i}") for i, (name, args) in enumerate(calls)]


@pytest.mark.parametrize(
    ("name", "args", "content"),
    [
        ("add", '{"a": 1, "b": 2.5}', "3.5"),
        ("add", {"a": 1, "b": 2}, "3.0"),
        ("count", '{"n": 7}', "7"),
        ("echo", '{"text": "hi \\"there\\""}', 'hi "there"'),
        ("flag", '{"on": true}', "true"),
        ("flag", '{"on": false}', "false"),
        ("pair", '{"a": 1, "b": 2}', '{"a": 1, "b": 2}'),
        ("listing", "{}", '[1,"two"]'),  # no output schema: the text content, as sent
        ("listing", "", '[1,"two"]'),
        ("listing", None, '[1,"two"]'),
        ("nothing", "{}", "null"),
    ],
)
def test_successful_calls_are_formatted_as_the_contract_says(name: str, args: Any, content: str) -> None:
    (outcome,) = asyncio.run(_run([(name, args)]))
    assert outcome.content == content
    assert outcome.is_error is False
    assert outcome.name == name
    assert outcome.duration_ms >= 0
    assert (outcome.call_id, outcome.content) == ("call_0", content)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        (
            "nope",
            "{}",
            "Error: unknown tool 'nope'; available tools: "
            "add, count, crash, echo, flag, listing, nothing, pair, refuse, slow",
        ),
        (
            "add",
            '{"a": 1,',
            "Error: arguments for tool 'add' are not valid JSON "
            "(Expecting property name enclosed in double quotes at position 8)",
        ),
        ("add", "[1, 2]", "Error: arguments for tool 'add' must be a JSON object, got list"),
        ("add", "null", "Error: arguments for tool 'add' must be a JSON object, got null"),
        ("add", 42, "Error: arguments for tool 'add' must be a JSON object, got int"),
        ("refuse", '{"x": 3}', "Error: tool 'refuse' failed: cannot handle 3"),
        ("crash", '{"x": 3}', "Error: tool 'crash' failed: division by zero is undefined"),
        ("add", '{"a": "x"}', "Error: tool 'add' failed: 2 validation errors for call[add]"),
        ("slow", '{"seconds": 30}', "Error: tool 'slow' timed out after 0.5s"),
    ],
)
def test_problems_become_error_content_and_the_next_call_still_works(name: str, args: Any, expected: str) -> None:
    timeout_s = 0.5 if name == "slow" else 20.0  # generous elsewhere: 2 shared cores
    bad, good = asyncio.run(_run([(name, args), ("add", '{"a": 2, "b": 2}')], timeout_s=timeout_s))
    assert bad.is_error is True
    assert bad.content.startswith(expected)
    assert "For further information" not in bad.content
    assert bad.call_id == "call_0"
    assert (good.content, good.is_error) == ("4.0", False)


def test_unknown_tool_wins_over_bad_arguments_and_late_tools_are_found() -> None:
    server = _server()

    async def run():
        async with ToolRunner(server) as runner:
            first = await runner.call("triple", "{not json", call_id="a")

            @server.tool
            def triple(x: int) -> int:
                return 3 * x

            second = await runner.call("triple", '{"x": 2}', call_id="b")
            return first, second

    first, second = asyncio.run(run())
    assert first.content.startswith("Error: unknown tool 'triple'; available tools: add,")
    assert (second.content, second.is_error) == ("6", False)


def test_timeout_is_enforced_and_measured() -> None:
    (outcome,) = asyncio.run(_run([("slow", {"seconds": 10})], timeout_s=0.2))
    assert outcome.content == "Error: tool 'slow' timed out after 0.2s"
    assert 150 <= outcome.duration_ms < 5000


def test_parsed_arguments_are_recorded() -> None:
    ok, bad_json = asyncio.run(_run([("add", '{"a": 1, "b": 2}'), ("add", "{")]))
    assert ok.arguments == {"a": 1, "b": 2}
    assert bad_json.arguments is None


def test_validation_error_names_the_problem() -> None:
    (outcome,) = asyncio.run(_run([("add", '{"a": 1}')]))
    assert outcome.is_error
    assert "b\n  Missing required argument" in outcome.content


def test_server_error_logs_are_hidden_only_while_the_runner_is_open(capsys) -> None:
    import logging

    server_logger = logging.getLogger("fastmcp.server.server")
    filters_before = list(server_logger.filters)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):  # on the logger itself: fastmcp may stop its records propagating to the root
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep(level=logging.DEBUG)
    server_logger.addHandler(keep)
    # Whatever an earlier test (or an imported library) did to logging, this logger must be live here.
    saved = (server_logger.level, server_logger.disabled, logging.root.manager.disable)
    server_logger.setLevel(logging.DEBUG)
    server_logger.disabled = False
    logging.disable(logging.NOTSET)
    try:
        (outcome,) = asyncio.run(_run([("crash", '{"x": 1}')]))
        assert outcome.is_error
        assert "Traceback" not in capsys.readouterr().err
        assert not [r for r in seen if "Error calling tool" in r.getMessage()]
        assert server_logger.filters == filters_before

        async def loud():
            async with ToolRunner(_server(), quiet_server_errors=False) as runner:
                return await runner.call("refuse", '{"x": 1}', call_id="c")

        assert asyncio.run(loud()).is_error
        assert [r for r in seen if "Error calling tool" in r.getMessage()]
    finally:
        server_logger.removeHandler(keep)
        server_logger.setLevel(saved[0])
        server_logger.disabled = saved[1]
        logging.disable(saved[2])


def test_unopened_or_closed_runner_raises() -> None:
    runner = ToolRunner(_server())
    with pytest.raises(ToolTransportError, match="not open"):
        asyncio.run(runner.call("add", "{}", call_id="x"))

    async def after_close():
        async with ToolRunner(_server()) as r:
            pass
        return await r.call("add", '{"a": 1, "b": 1}', call_id="x")

    with pytest.raises(ToolTransportError):
        asyncio.run(after_close())


def test_invalid_timeout() -> None:
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        ToolRunner(_server(), timeout_s=0)


def test_list_tools_with_and_without_an_mcp_client() -> None:
    async def run(in_process: bool) -> tuple[list[str], bool]:
        async with ToolRunner(_server(), in_process=in_process) as runner:
            tools = await runner.list_tools()
            return [t.name for t in tools], runner.uses_client

    (direct, direct_client), (listed, client) = asyncio.run(run(True)), asyncio.run(run(False))
    assert "add" in direct and direct == listed
    assert (direct_client, client) == (False, True)  # plain tools of an in-process server need no client


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (0.1, "0.1"),
        (None, "null"),
        ({"é": [1]}, '{"é": [1]}'),
        ([1, 2], "[1, 2]"),
    ],
)
def test_format_tool_value(value: Any, text: str) -> None:
    assert format_tool_value(value) == text
    json.loads(text) if not isinstance(value, str) else None


SAME_EITHER_WAY = [
    ("add", '{"a": 1, "b": 2.5}'),
    ("count", '{"n": "x"}'),
    ("count", "{}"),
    ("count", '{"n": 1, "extra": 2}'),
    ("echo", '{"text": "héllo"}'),
    ("flag", '{"on": true}'),
    ("pair", '{"a": 1, "b": 2}'),
    ("listing", "{}"),
    ("nothing", "{}"),
    ("refuse", '{"x": 3}'),
    ("crash", '{"x": 3}'),
    ("slow", '{"seconds": 5}'),
    ("no_such_tool", "{}"),
    ("add", "not json"),
]


def test_in_process_calls_give_exactly_what_the_mcp_client_gives() -> None:
    """Plain tools run through `FastMCP.call_tool`; every result and error text matches the client path."""

    async def run(in_process: bool) -> list[tuple[str, bool]]:
        async with ToolRunner(_server(), timeout_s=0.3, in_process=in_process) as runner:
            assert bool(runner._in_process) is in_process and runner.uses_client is not in_process
            outcomes = [
                await runner.call(name, args, call_id=f"c{i}") for i, (name, args) in enumerate(SAME_EITHER_WAY)
            ]
        return [(o.content, o.is_error) for o in outcomes]

    direct, through_client = asyncio.run(run(True)), asyncio.run(run(False))
    assert direct == through_client
    assert direct[0] == ("3.5", False) and direct[11] == ("Error: tool 'slow' timed out after 0.3s", True)


def test_a_tool_that_takes_a_context_goes_through_the_client_and_works() -> None:
    server = fastmcp.FastMCP("ctx")

    @server.tool
    async def greet(name: str, ctx: fastmcp.Context) -> str:
        await ctx.info(f"greeting {name}")
        return f"hello {name}"

    @server.tool
    def plain(x: int) -> int:
        return x

    async def run() -> tuple[set[str], str, str]:
        async with ToolRunner(server) as runner:
            greeted = await runner.call("greet", '{"name": "ada"}', call_id="c0")
            plain_result = await runner.call("plain", '{"x": 2}', call_id="c1")
            return runner._in_process, greeted.content, plain_result.content

    in_process, greeted, plain_result = asyncio.run(run())
    assert in_process == {"plain"}
    assert (greeted, plain_result) == ("hello ada", "2")


def test_the_real_tools_list_the_same_schemas_with_or_without_a_client() -> None:
    from mcp_servers import load_tool_server

    from osmosis_local.tools.schema import convert_tools

    async def schemas(in_process: bool) -> list[dict[str, Any]]:
        async with ToolRunner(load_tool_server(), in_process=in_process) as runner:
            return convert_tools(await runner.list_tools())[0]

    direct, through_client = asyncio.run(schemas(True)), asyncio.run(schemas(False))
    assert direct == through_client and len(direct) == 8


def test_the_direct_path_words_masked_errors_as_the_client_does_and_gives_tools_a_context() -> None:
    """Plain tools of a server without call hooks skip `call_tool`'s lookup and chain, not its behaviour."""
    from fastmcp.server.dependencies import get_context

    server = fastmcp.FastMCP("masked", mask_error_details=True)

    @server.tool
    def crash(x: int) -> int:
        raise ValueError("a secret detail")

    @server.tool
    def refuse(x: int) -> int:
        raise ToolError(f"cannot handle {x}")

    @server.tool
    def server_name() -> str:
        return get_context().fastmcp.name  # a tool may ask for its context at run time

    async def run(in_process: bool) -> list[tuple[str, bool]]:
        async with ToolRunner(server, in_process=in_process) as runner:
            assert bool(runner._resolved) is in_process
            calls = [("crash", '{"x": 1}'), ("refuse", '{"x": 2}'), ("server_name", "{}"), ("crash", '{"x": "y"}')]
            outcomes = [await runner.call(name, args, call_id=f"c{i}") for i, (name, args) in enumerate(calls)]
        return [(o.content, o.is_error) for o in outcomes]

    direct, through_client = asyncio.run(run(True)), asyncio.run(run(False))
    assert direct == through_client
    assert direct[0] == ("Error: tool 'crash' failed: Error calling tool 'crash'", True)
    assert direct[1] == ("Error: tool 'refuse' failed: cannot handle 2", True)
    assert direct[2] == ("masked", False)


def test_a_middleware_that_hooks_tool_calls_sees_every_in_process_call() -> None:
    from fastmcp.server.middleware import Middleware

    seen: list[str] = []

    class Count(Middleware):
        async def on_call_tool(self, context: Any, call_next: Any) -> Any:
            seen.append(context.message.name)
            return await call_next(context)

    server = _server()
    server.add_middleware(Count())

    async def run() -> list[str]:
        async with ToolRunner(server) as runner:
            assert runner._in_process and not runner._resolved  # in process, through `call_tool` and its chain
            return [(await runner.call("add", '{"a": 1, "b": 2}', call_id=f"c{i}")).content for i in range(3)]

    assert asyncio.run(run()) == ["3.0", "3.0", "3.0"]
    assert seen == ["add", "add", "add"]
