"""This repository's RolloutServer (Remote Rollout): the tools of ``../mcp`` and the reward of ``../reward_fn``.

The platform's trainer calls ``POST /v1/rollout/init``; this loop then asks the trainer for every LLM turn
(``ctx.chat``), runs the model's tool calls on the same tools Local Rollout uses, and completes the rollout
with ``numbers_match_reward`` as its reward when the request's metadata carries a ``ground_truth``.

Start it (from this folder) in one of three ways:

    osmosis-local serve -m server:agent_loop          # or `osmosis serve ...` with the original SDK
    python -m server                                  # ROLLOUT_SERVER_HOST / _PORT / ROLLOUT_DEBUG_DIR
    uvicorn server:app --host 0.0.0.0 --port 9000

Fork this file to get your own agent: change `RepositoryAgentLoop.run`. It runs under the original SDK
(osmosis-ai 0.2.15–0.2.17) and under this repository's harness (`osmosis_local`), whichever is installed.
"""

import json
import os
import sys
import time
from pathlib import Path

try:  # the original SDK, as the platform runs the content
    from osmosis_ai.rollout import RolloutContext, RolloutResult, create_app
    from osmosis_ai.rollout.mcp import MCPAgentLoop, load_mcp_server
except ImportError:  # this repository's harness
    from osmosis_local.rollout import RolloutContext, RolloutResult, create_app
    from osmosis_local.rollout.mcp import MCPAgentLoop, load_mcp_server

REPO = Path(__file__).resolve().parent.parent
MCP_DIR = REPO / "mcp"
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # for reward_fn/ (appended: nothing in the repository root shadows a module)

from reward_fn.compute_reward import numbers_match_reward  # noqa: E402


def load_tools():
    """The FastMCP instance of ../mcp.

    ``mcp/main.py`` does ``from server import mcp``, but this file is itself the module ``server`` when it is
    served (``-m server:agent_loop``, ``uvicorn server:app``): it steps out of ``sys.modules`` while mcp/ loads,
    so the loader finds mcp/server/, and comes back afterwards.
    """
    me = sys.modules.pop("server", None)
    try:
        return load_mcp_server(str(MCP_DIR))
    finally:
        if me is not None:
            sys.modules["server"] = me


def answer_of(messages):
    """The last assistant text (what a simple reward scores)."""
    for message in reversed(messages):
        if message.get("role") == "assistant" and message.get("content") is not None:
            return str(message["content"])
    return ""


def reward_of(messages, metadata):
    """``numbers_match_reward`` of the final answer, or None when the request carries no ground truth."""
    truth = metadata.get("ground_truth")
    if not isinstance(truth, str):
        return None
    return float(numbers_match_reward(answer_of(messages), truth, extra_info=dict(metadata)))


class RepositoryAgentLoop(MCPAgentLoop):
    """Tool-using math agent: call tools until the model answers or ``max_turns`` LLM calls are spent."""

    name = "osmosis_math_tools"

    def __init__(self):
        server = load_tools()
        super().__init__(server, agent_name=self.name)
        self.fastmcp_server = server

    async def tool_message(self, call, tool_server_url):
        """The tool message answering one tool call (an ``Error: ...`` text when the call fails)."""
        execute = getattr(super(), "execute_tool_call", None)
        if execute is not None:  # osmosis_local: FastMCP.call_tool in this process, or the tool server's URL
            message, _ = await execute(call, tool_server_url=tool_server_url)
            return message
        return await self._through_client(call, tool_server_url)  # the SDK: FastMCP's public client

    async def _through_client(self, call, tool_server_url):
        import fastmcp

        function = call.get("function") or {}
        call_id = call.get("id") or "unknown"
        try:
            arguments = json.loads(function.get("arguments") or "{}")
            async with fastmcp.Client(tool_server_url or self.fastmcp_server) as client:
                result = await client.call_tool(function.get("name") or "", arguments)
            value = result.data if result.data is not None else "\n".join(
                getattr(part, "text", "") for part in result.content or []
            )
            content = value if isinstance(value, str) else json.dumps(value)
        except Exception as exc:  # every tool problem reaches the model as a message
            content = f"Error: {exc}"
        return {"role": "tool", "content": content, "tool_call_id": call_id}

    async def run(self, ctx: RolloutContext) -> RolloutResult:
        request = ctx.request
        messages = list(request.messages)
        finish_reason = "max_turns"
        turns = 0
        for turn in range(request.max_turns):
            turns = turn + 1
            ctx.log_event("pre_llm", turn=turn, num_messages=len(messages),
                          roles=[m.get("role") for m in messages])  # fmt: skip
            result = await ctx.chat(messages, **request.completion_params)
            messages.append(result.message)
            calls = result.tool_calls or []
            ctx.log_event("llm_response", turn=turn, has_tool_calls=result.has_tool_calls,
                          finish_reason=result.finish_reason,
                          tool_calls=[(c.get("function") or {}).get("name") for c in calls])  # fmt: skip
            if not result.has_tool_calls:
                finish_reason = "length" if result.finish_reason == "length" else "stop"
                break
            contents = []
            for call in calls:
                started = time.monotonic()
                message = await self.tool_message(call, request.tool_server_url)
                ctx.record_tool_call(latency_ms=(time.monotonic() - started) * 1000)
                messages.append(message)
                contents.append(message["content"])
            ctx.log_event("tool_results", turn=turn, num_tool_results=len(contents),
                          errors=sum(1 for c in contents if str(c).startswith("Error")))  # fmt: skip
        reward = reward_of(messages, request.metadata)
        ctx.log_event("rollout_complete", finish_reason=finish_reason, reward=reward, total_turns=turns)
        return ctx.complete(messages, finish_reason=finish_reason, reward=reward)


def build_app(loop):
    """The server app; ``ROLLOUT_DEBUG_DIR`` turns on the debug logs (``<dir>/<unix time>/<rollout_id>.jsonl``)."""
    debug_root = os.environ.get("ROLLOUT_DEBUG_DIR")
    if not debug_root:
        return create_app(loop)
    debug_dir = os.path.join(debug_root, str(int(time.time())))
    try:
        return create_app(loop, debug_dir=debug_dir)
    except TypeError:  # an SDK whose create_app takes no debug_dir
        return create_app(loop)


agent_loop = RepositoryAgentLoop()
app = build_app(agent_loop)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("ROLLOUT_SERVER_HOST", "0.0.0.0"),
        port=int(os.environ.get("ROLLOUT_SERVER_PORT", "9000")),
    )
