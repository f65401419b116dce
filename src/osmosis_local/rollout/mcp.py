"""`MCPAgentLoop`: a `RolloutAgentLoop` over a FastMCP server's tools, with the SDK 0.2.17's name and constructor.

``MCPAgentLoop(mcp_server, agent_name="mcp_agent")`` offers the server's tools (converted from our lossless
schemas to the narrow 0.2.17 shape, `osmosis_local.rollout.tool_shapes`) and runs the built-in loop: each turn
sends the whole history with the request's completion parameters, runs the tool calls, and stops on an answer
or at ``max_turns``. Tools run in this process through `ToolRunner` (the in-process `FastMCP.call_tool`; the
SDK reads FastMCP 2's private registry), or at the request's ``tool_server_url`` when the trainer gives one.
`execute_tool_call` is public so a loop that subclasses this one can reuse the tool side (see
``rollout_server/server.py``). Every tool problem reaches the model as an ``Error: ...`` tool message.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from osmosis_local.content.mcp_loader import McpLoadError, load_mcp_server
from osmosis_local.rollout.base import RolloutAgentLoop, RolloutContext, RolloutResult
from osmosis_local.rollout.schemas import MessageDict, OpenAIFunctionToolSchema, RolloutRequest
from osmosis_local.rollout.tool_shapes import narrow_tool
from osmosis_local.tools.runner import DEFAULT_TOOL_TIMEOUT_S, ToolCallOutcome, ToolRunner
from osmosis_local.types import ToolSpec

__all__ = ["MCPAgentLoop", "MCPLoadError", "load_mcp_server"]

MCPLoadError = McpLoadError  # the SDK's name
T = TypeVar("T")


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="osmosis-local-blocking")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


async def _list_specs(server: Any) -> tuple[list[ToolSpec], list[str]]:
    from osmosis_local.tools.schema import convert_tools

    async with ToolRunner(server) as runner:
        return convert_tools(await runner.list_tools())


class MCPAgentLoop(RolloutAgentLoop):
    """The built-in loop over an MCP server's tools (the SDK's ``mcp_agent``)."""

    name = "mcp_agent"

    def __init__(self, mcp_server: Any, agent_name: str = "mcp_agent", *, tool_timeout_s: float = DEFAULT_TOOL_TIMEOUT_S
                 ) -> None:  # fmt: skip
        self.name = agent_name
        self.mcp_server = mcp_server
        self.tool_timeout_s = tool_timeout_s
        self.tool_specs, self.schema_warnings = run_blocking(_list_specs(mcp_server))
        narrowed = [narrow_tool(spec) for spec in self.tool_specs]
        self._tools = [tool for tool, _ in narrowed]
        self._losses = [f"tool {tool.function.name}: {loss}" for tool, losses in narrowed for loss in losses]
        # One tool client per (event loop, tool server), opened once even when many rollouts ask at the same time.
        self._runners: dict[tuple[int, str | None], asyncio.Task[ToolRunner]] = {}
        self._lock = threading.Lock()

    def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
        return list(self._tools)

    def tool_losses(self) -> list[str]:
        """What the narrow 0.2.17 tool shape cannot carry of these tools' schemas (the trainer sees less)."""
        return list(self._losses)

    async def _open_runner(self, tool_server_url: str | None) -> ToolRunner:
        runner = ToolRunner(tool_server_url or self.mcp_server, timeout_s=self.tool_timeout_s)
        await runner.__aenter__()
        return runner

    async def _runner(self, tool_server_url: str | None) -> ToolRunner:
        key = (id(asyncio.get_running_loop()), tool_server_url)
        with self._lock:
            opening = self._runners.get(key)
            if opening is None:
                opening = self._runners[key] = asyncio.ensure_future(self._open_runner(tool_server_url))
        try:
            return await asyncio.shield(opening)
        except Exception:
            with self._lock:
                if self._runners.get(key) is opening:
                    del self._runners[key]  # the next call tries again
            raise

    async def close(self) -> None:
        """Close the tool clients opened in this event loop."""
        loop = id(asyncio.get_running_loop())
        with self._lock:
            mine = [self._runners.pop(k) for k in [k for k in self._runners if k[0] == loop]]
        for opening in mine:
            if not opening.done():
                opening.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                runner = await opening
                await runner.__aexit__(None, None, None)

    async def execute_tool_call(self, call: dict[str, Any], *, tool_server_url: str | None = None
                                ) -> tuple[MessageDict, ToolCallOutcome]:  # fmt: skip
        """Run one of the model's tool calls; the tool message to append, and the outcome (never raises for a
        tool's or the model's fault)."""
        raw = call.get("function")
        function: dict[str, Any] = raw if isinstance(raw, dict) else {}
        call_id = str(call.get("id") or "unknown")
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        runner = await self._runner(tool_server_url)
        outcome = await runner.call(name, arguments if isinstance(arguments, str | dict) else None, call_id=call_id)
        return {"role": "tool", "content": outcome.content, "tool_call_id": call_id}, outcome

    async def run(self, ctx: RolloutContext) -> RolloutResult:
        messages = list(ctx.request.messages)
        for _turn in range(ctx.request.max_turns):
            result = await ctx.chat(messages, **ctx.request.completion_params)
            messages.append(result.message)
            if not result.has_tool_calls:
                return ctx.complete(messages, finish_reason="length" if result.finish_reason == "length" else "stop")
            for call in result.tool_calls:
                started = time.monotonic()
                message, _ = await self.execute_tool_call(call, tool_server_url=ctx.request.tool_server_url)
                messages.append(message)
                ctx.record_tool_call(latency_ms=(time.monotonic() - started) * 1000)
        return ctx.complete(messages, finish_reason="max_turns")
