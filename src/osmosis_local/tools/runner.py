"""Run the policy's tool calls against a FastMCP server through one open `fastmcp.Client`.

The same client lists the tools (for the schemas the model is offered) and calls them, each call with
a timeout. Every problem the *model* can cause - unknown tool, arguments that aren't a JSON object,
validation errors, the tool raising, a timeout - becomes a tool message `"Error: ..."` so the loop
continues and the model can react; only a dead client/transport raises (`ToolTransportError`),
because no later call could succeed either. docs/contract.md §4 describes the SDK's execution.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from fastmcp.exceptions import FastMCPError, McpError
from pydantic import ValidationError

from osmosis_local.safe_text import bounded, clean, safe_str
from osmosis_local.tools.loop_guard import ToolBlocked, shared_guard
from osmosis_local.tools.tool_loop import ToolLoop

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_S",
    "ToolCallOutcome",
    "ToolRunner",
    "ToolTransportError",
    "format_tool_value",
]

DEFAULT_TOOL_TIMEOUT_S = 30.0
MAX_ERROR_CHARS = 2000  # an error text the model reads is cut to this length
MAX_NAME_CHARS = 80  # a tool name echoed back in an error (valid names have at most 64)
MAX_RESULT_CHARS = 100_000  # a tool result the model reads (and the transcript keeps) is cut to this length

# JSON-RPC error codes from the MCP SDK (stable across versions; copied to avoid import churn).
_REQUEST_TIMEOUT = -32001
_CONNECTION_CLOSED = -32000
_SERVER_LOGGER = "fastmcp.server.server"
logger = logging.getLogger(__name__)  # where FastMCP logs failing tool calls


class ToolTransportError(RuntimeError):
    """The MCP client/transport is unusable (closed, never opened); not the model's fault."""


@dataclass(frozen=True)
class ToolCallOutcome:
    """What one tool call produced, ready to append to the conversation."""

    call_id: str
    name: str
    content: str
    is_error: bool
    duration_ms: float
    arguments: dict[str, Any] | None = None  # the parsed arguments, when they parsed


def format_tool_value(value: Any) -> str:
    """Serialize a tool's value as the SDK does: str kept, bool true/false, numbers str(), else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


class _DropToolErrorLogs(logging.Filter):
    """Hides FastMCP's server-side log of a failing tool call (often a full rich traceback).

    The failure already reaches the model as the tool message and the transcript; printing it
    again mid-run clutters the console and rendering the traceback costs ~0.5 s per error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not message.startswith(("Error calling tool", "Invalid arguments for tool"))


class ToolRunner:
    """One open `fastmcp.Client` to a server; use as `async with ToolRunner(server) as runner:`.

    `quiet_server_errors` (default on) hides FastMCP's own log lines for failing tool calls
    while the runner is open; see `_DropToolErrorLogs`. `in_process` (default on) runs plain function
    tools of an in-process server with `FastMCP.call_tool` (see `_in_process_tools`). `connect_timeout_s` bounds
    opening (connecting, the MCP handshake, listing the tools): a server that accepts the connection and never
    answers is a `ToolTransportError` after that long, not a wait of minutes.
    """

    def __init__(
        self,
        server: Any,
        *,
        timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
        quiet_server_errors: bool = True,
        in_process: bool = True,
        connect_timeout_s: float | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.server = server
        self.timeout_s = float(timeout_s)
        self._client: Any = None
        self._open = False
        self._tool_names: set[str] = set()
        self._in_process: set[str] = set()
        # In-process async tools, by name -> their code: run on the run's loop under the `LoopGuard` when it is
        # available (the main thread), else on `ToolLoop`, so one that blocks cannot hold the loop.
        self._async_tools: dict[str, frozenset[CodeType]] = {}
        self._tool_loop = ToolLoop()
        self._guard = shared_guard()
        self._guarding = False
        self._allow_in_process = in_process
        self._resolved: dict[str, Any] = {}  # plain function tools `_server_call` runs without `call_tool`
        self._log_filter = _DropToolErrorLogs() if quiet_server_errors else None
        self.connect_timeout_s = connect_timeout_s

    async def __aenter__(self) -> ToolRunner:
        if self._log_filter is not None:
            logging.getLogger(_SERVER_LOGGER).addFilter(self._log_filter)
        try:
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    await self.list_tools()
            except TimeoutError:
                raise ToolTransportError(
                    f"no answer within {self.connect_timeout_s:g}s (the server accepted the connection but did not "
                    "complete the MCP handshake and list its tools)"
                ) from None
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        if self._async_tools and self._guard.available:
            self._guard.start()
            self._guarding = True
        self._open = True
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._open = False
        self._tool_loop.close()
        if self._guarding:
            self._guarding = False
            self._guard.stop()
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.__aexit__(*exc_info)
        finally:
            if self._log_filter is not None:
                logging.getLogger(_SERVER_LOGGER).removeFilter(self._log_filter)

    @property
    def uses_client(self) -> bool:
        """Whether an MCP client session is open (a URL, or a server that needs one)."""
        return self._client is not None

    async def list_tools(self) -> list[Any]:
        """The server's tools (`mcp.types.Tool`), as an MCP client would list them now."""
        if self._client is None:
            self._in_process, needs_client = await self._plain_tools()
            if needs_client:
                import fastmcp

                client = fastmcp.Client(self.server)
                await client.__aenter__()
                self._client = client
        if self._client is not None:
            tools = list(await self._client.list_tools())
        else:
            tools = []
            seen: set[str] = set()
            for tool in await self.server.list_tools():  # every version of a tool; the first one is listed
                if tool.name not in seen:
                    seen.add(tool.name)
                    tools.append(tool.to_mcp_tool())
        self._tool_names = {t.name for t in tools}
        return tools

    async def _plain_tools(self) -> tuple[set[str], bool]:
        """The tools `FastMCP.call_tool` can run in this process, and whether an MCP client is needed too.

        That public call skips the MCP message round trip (about 0.6 ms of CPU per call against 2 ms
        through the in-memory client, and no client set-up: 0.45 s of imports at start-up). Plain
        function tools qualify. A tool that takes injected parameters (a `Context`, a dependency) needs a
        live MCP session, and so does a server with a lifespan of its own (it runs when a client
        connects), a mounted or proxied tool, or a server given by URL: then a client is opened and those
        tools go through it.
        """
        from fastmcp import FastMCP

        if not self._allow_in_process or not isinstance(self.server, FastMCP):
            return set(), True
        from fastmcp.server.server import default_lifespan
        from fastmcp.tools.base import Tool
        from fastmcp.tools.function_tool import FunctionTool

        names: set[str] = set()
        direct = self._log_filter is not None and _no_call_hooks(self.server)  # loud: FastMCP logs each failure
        self._resolved = {}
        needs_client = getattr(self.server, "_lifespan", None) is not default_lifespan
        for tool in await self.server.list_tools():
            if isinstance(tool, FunctionTool) and not _has_injected_parameters(tool):
                names.add(tool.name)
                if direct and tool.name not in self._resolved:
                    resolved = await self.server.get_tool(tool.name)  # the version `call_tool` would run
                    if isinstance(resolved, FunctionTool) and type(resolved)._run is Tool._run:
                        self._resolved[tool.name] = resolved
                fn = getattr(tool, "fn", None)
                if inspect.iscoroutinefunction(fn):
                    codes = {c for f in (fn, inspect.unwrap(fn)) if (c := getattr(f, "__code__", None)) is not None}
                    self._async_tools[tool.name] = frozenset(codes)
            else:
                needs_client = True
        return names, needs_client

    async def _server_call(self, name: str, args: dict[str, Any]) -> Any:
        """What `FastMCP.call_tool` does for a plain function tool, at a third of its CPU when it may.

        When no middleware or extension of the server hooks tool calls (`_no_call_hooks`) and FastMCP's log lines
        of failing calls are hidden anyway (`quiet_server_errors`), the tool resolved
        when the runner listed the tools runs in a FastMCP `Context` (as `call_tool` runs it), and an exception
        becomes the `ToolError` `call_tool` would raise (`_as_tool_error`). That skips the middleware chain and
        FastMCP's lookup through its providers (~90 us of ~180 us per call: a sixth of an eval's CPU with 4
        tool turns). Otherwise, and for a tool resolved to something else, `call_tool` itself runs.
        """
        tool = self._resolved.get(name)
        if tool is None:
            return await self.server.call_tool(name, args)
        from fastmcp.server.context import Context  # loaded with the server already; not at start-up

        async with Context(fastmcp=self.server):
            try:
                return await tool.run(args)
            except (FastMCPError, ValidationError, McpError):
                raise
            except Exception as exc:  # noqa: BLE001 - the tool's own failure, worded as FastMCP words it
                raise _as_tool_error(name, exc, bool(getattr(self.server, "_mask_error_details", False))) from exc

    async def _call_in_process(self, name: str, args: dict[str, Any], finish: Finish) -> ToolCallOutcome:
        """`FastMCP.call_tool` with the same timeout and the same error texts as the client path."""
        try:
            if name in self._async_tools and self._guarding:  # on this loop: a blocking one is interrupted
                with self._guard.guard(self._async_tools[name], self.timeout_s):
                    async with asyncio.timeout(self.timeout_s):
                        result = await self._server_call(name, args)
            elif name in self._async_tools:  # on the tool loop: one that blocks holds only that loop
                result = await self._tool_loop.call(lambda: self._server_call(name, args), self.timeout_s)
            else:  # a sync tool runs in a worker thread of FastMCP's already
                async with asyncio.timeout(self.timeout_s):
                    result = await self._server_call(name, args)
        except ToolBlocked:
            return finish(f"Error: tool '{name}' timed out after {self.timeout_s:g}s (it blocked; it was interrupted)",
                          True, args)  # fmt: skip
        except TimeoutError:
            return finish(f"Error: tool '{name}' timed out after {self.timeout_s:g}s", True, args)
        except (FastMCPError, McpError) as exc:
            detail = _strip_server_prefix(name, _error_text(exc)) or "the tool reported an error"
            return finish(f"Error: tool '{name}' failed: {detail}", True, args)
        texts = [c.text for c in (result.content or []) if getattr(c, "type", None) == "text"]
        return finish(_result_text(result.structured_content, texts), False, args)

    async def call(self, name: str, arguments_json: str | dict[str, Any] | None, *, call_id: str) -> ToolCallOutcome:
        """Run one tool call; never raises for the model's or the tool's mistakes.

        Whatever the model sends (any name, any arguments text: huge numbers, deep nesting, NaN) comes
        back as a result or as an ``Error: ...`` message of at most `MAX_ERROR_CHARS` characters.
        """
        if not self._open:
            raise ToolTransportError("ToolRunner is not open; use `async with ToolRunner(...)`")
        start = time.perf_counter()
        name = clean(name)
        try:
            outcome = await self._call(name, arguments_json, call_id, start)
        except ToolTransportError:
            raise
        except (Exception, SystemExit, KeyboardInterrupt) as exc:  # noqa: BLE001 - the tool's code, not a Ctrl-C
            # A real Ctrl-C cancels the run's tasks (CancelledError, not caught here); a SystemExit or a
            # KeyboardInterrupt raised by the tool itself (argparse in a tool is enough) is this call's error.
            logger.debug("tool call %s failed", _shown_name(name), exc_info=True)
            if isinstance(exc, SystemExit | KeyboardInterrupt):
                detail = f"the tool raised {type(exc).__name__}({safe_str(exc.args[0]) if exc.args else ''})"
            else:
                detail = " ".join(safe_str(exc).split()) or type(exc).__name__
                detail = f"could not be run with these arguments: {detail}"
            outcome = ToolCallOutcome(
                call_id, name, f"Error: tool '{name}' {detail}", True, round((time.perf_counter() - start) * 1000.0, 3),
            )  # fmt: skip
        if not outcome.is_error:
            return ToolCallOutcome(outcome.call_id, outcome.name, bounded(clean(outcome.content), MAX_RESULT_CHARS),
                                   False, outcome.duration_ms, outcome.arguments)  # fmt: skip
        content = clean(outcome.content)
        if len(name) > MAX_NAME_CHARS:
            content = content.replace(name, _shown_name(name))
        return ToolCallOutcome(
            outcome.call_id, _shown_name(name), _bounded(content), True, outcome.duration_ms, outcome.arguments
        )

    async def _call(
        self, name: str, arguments_json: str | dict[str, Any] | None, call_id: str, start: float
    ) -> ToolCallOutcome:

        def outcome(content: str, is_error: bool, args: dict[str, Any] | None = None) -> ToolCallOutcome:
            elapsed = (time.perf_counter() - start) * 1000.0
            return ToolCallOutcome(call_id, name, content, is_error, round(elapsed, 3), args)

        if name not in self._tool_names:
            await self.list_tools()  # tools may have been enabled since the last listing
            if name not in self._tool_names:
                available = ", ".join(sorted(self._tool_names)) or "(none)"
                return outcome(f"Error: unknown tool '{name}'; available tools: {available}", True)

        args, problem = _parse_arguments(name, arguments_json)
        if problem is not None:
            return outcome(f"Error: {problem}", True)

        if name in self._in_process:
            return await self._call_in_process(name, args, outcome)
        try:
            result = await self._client.call_tool(name, args, timeout=self.timeout_s, raise_on_error=False)
        except TimeoutError:
            return outcome(f"Error: tool '{name}' timed out after {self.timeout_s:g}s", True, args)
        except McpError as exc:
            code = getattr(getattr(exc, "error", None), "code", None)
            if code != _CONNECTION_CLOSED:
                if code == _REQUEST_TIMEOUT or "timed out" in str(exc).lower():
                    text = f"Error: tool '{name}' timed out after {self.timeout_s:g}s"
                else:
                    text = f"Error: tool '{name}' failed: {_error_text(exc)}"
                return outcome(text, True, args)
            raise ToolTransportError(
                f"MCP client failed while calling tool '{name}': {type(exc).__name__}: {exc}"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - the client or its transport broke
            raise ToolTransportError(
                f"MCP client failed while calling tool '{name}': {type(exc).__name__}: {exc}"
            ) from exc

        texts = [c.text for c in (result.content or []) if getattr(c, "type", None) == "text"]
        if result.is_error:
            detail = _strip_server_prefix(name, "\n".join(texts)) or "the tool reported an error"
            return outcome(f"Error: tool '{name}' failed: {detail}", True, args)
        return outcome(_result_text(result.structured_content, texts), False, args)


Finish = Callable[..., ToolCallOutcome]


def _no_call_hooks(server: Any) -> bool:
    """True when nothing sits between `FastMCP.call_tool` and the tool: no middleware of the server hooks a
    message, a request or a tool call (FastMCP's own schema-dereferencing one hooks listings only), and no
    server extension intercepts calls."""
    from fastmcp.server.middleware import Middleware

    if getattr(server, "_extensions", None):  # tools/call interceptors of an extension
        return False
    hooks = ("__call__", "on_message", "on_request", "on_call_tool")
    for middleware in getattr(server, "middleware", None) or []:
        kind = type(middleware)
        if any(getattr(kind, hook, None) is not getattr(Middleware, hook) for hook in hooks):
            return False
    return True


def _as_tool_error(name: str, exc: Exception, masked: bool) -> Exception:
    """The `ToolError` `FastMCP.call_tool` raises for an exception of a tool (same words, same masking)."""
    from fastmcp.exceptions import ToolError
    from fastmcp.utilities.exceptions import get_http_status_code, is_timeout_error

    if get_http_status_code(exc) == 429:
        return ToolError("Rate limited by upstream API, please retry later")
    if is_timeout_error(exc):
        return ToolError("Upstream request timed out, please retry")
    return ToolError(f"Error calling tool {name!r}" if masked else f"Error calling tool {name!r}: {exc}")


def _has_injected_parameters(tool: Any) -> bool:
    """True when the tool's function takes parameters its input schema does not show (FastMCP injects them)."""
    try:
        parameters = inspect.signature(tool.fn).parameters
    except (TypeError, ValueError):
        return True
    shown = set((tool.parameters or {}).get("properties") or {})
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return any(p.kind in plain and name not in shown for name, p in parameters.items())


def _parse_arguments(name: str, raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """Arguments as a dict, or a message for the model. A blank string/None means no arguments."""
    if raw is None:
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    if not isinstance(raw, str):
        return {}, f"arguments for tool '{name}' must be a JSON object, got {type(raw).__name__}"
    if not raw.strip():
        return {}, None
    try:
        parsed = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return {}, (
            f"arguments for tool '{name}' are not valid JSON ({exc.msg} at position {exc.pos}); "
            'send a JSON object such as {"a": 1}'
        )
    except RecursionError:
        return {}, f"arguments for tool '{name}' are nested too deeply to read; send a flat JSON object"
    except ValueError as exc:  # Python's limit on digits in an integer, or NaN/Infinity
        text = str(exc)
        if "digits" in text:
            return {}, (
                f"a number in the arguments for tool '{name}' has too many digits to read "
                f"(more than {sys.get_int_max_str_digits()}); send a smaller number"
            )
        return {}, f"arguments for tool '{name}' could not be read: {_bounded(text, 200)}"
    if not isinstance(parsed, dict):
        kind = "null" if parsed is None else type(parsed).__name__
        return {}, f"arguments for tool '{name}' must be a JSON object, got {kind}"
    return parsed, None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send a finite number")


def _bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    return bounded(text, limit)


def _shown_name(name: str) -> str:
    return _bounded(name, MAX_NAME_CHARS)


def _result_text(structured: Any, texts: list[str]) -> str:
    if structured is not None:
        if isinstance(structured, dict) and set(structured) == {"result"}:
            structured = structured["result"]
        return format_tool_value(structured)
    return "\n".join(texts)


def _strip_server_prefix(name: str, text: str) -> str:
    """Drop FastMCP's "Error calling tool 'X': " prefix and pydantic's doc-link lines."""
    prefix = f"Error calling tool '{name}': "
    if text.startswith(prefix):
        text = text[len(prefix) :]
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("For further information")]
    return "\n".join(lines).strip()


def _error_text(exc: BaseException) -> str:
    message = getattr(getattr(exc, "error", None), "message", None)
    return str(message or exc)
