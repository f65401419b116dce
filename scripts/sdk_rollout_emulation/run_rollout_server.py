"""Import ``rollout_server/server.py`` under the stand-in SDK (FastMCP 2.14.5 venv) and run one rollout of a
dataset row with a scripted LLM that replays the row's steps; print a JSON report.

Usage (cwd = rollout_server/, PYTHONPATH = this folder): python run_rollout_server.py ROW_JSON
"""

import asyncio
import json
import os
import sys


class ScriptedLLM:
    """Replays a row's steps as tool calls, then answers ``#### <last tool result>``."""

    def __init__(self, steps):
        self.steps = steps

    async def chat_completions(self, messages, **params):
        results = [m["content"] for m in messages if m.get("role") == "tool"]
        done = len(results)
        if done < len(self.steps):
            step = self.steps[done]
            arguments = {k: (results[v["$ref"]] if isinstance(v, dict) else v) for k, v in step["arguments"].items()}
            arguments = {k: json.loads(v) if isinstance(v, str) else v for k, v in arguments.items()}
            call = {"id": f"call_{done}", "type": "function",
                    "function": {"name": step["tool"], "arguments": json.dumps(arguments)}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            message = {"role": "assistant", "content": f"#### {results[-1]}"}
        return Result(message)


class Result:
    def __init__(self, message):
        self.message = message
        self.tool_calls = message.get("tool_calls") or []
        self.has_tool_calls = bool(self.tool_calls)
        self.finish_reason = "tool_calls" if self.has_tool_calls else "stop"


class Request:
    def __init__(self, row):
        self.rollout_id = "sdk-0"
        self.messages = [{"role": "system", "content": row["system_prompt"]},
                         {"role": "user", "content": row["user_prompt"]}]
        self.completion_params = {"temperature": 1.0}
        self.max_turns = 10
        self.metadata = {"ground_truth": row["ground_truth"]}
        self.tool_server_url = None


def main():
    row = json.loads(sys.argv[1])
    sys.path.insert(0, os.getcwd())  # as `osmosis serve -m server:agent_loop` does
    import server
    from osmosis_ai.rollout import RolloutContext

    loop = server.agent_loop
    tools = loop.get_tools(None)
    ctx = RolloutContext(Request(row), tools, ScriptedLLM(row["steps"]))
    result = asyncio.run(loop.run(ctx))
    print(json.dumps({
        "name": loop.name,
        "tools": [t["function"]["name"] for t in tools],
        "status": result.status,
        "reward": result.reward,
        "answer": result.final_messages[-1]["content"],
        "tool_results": [m["content"] for m in result.final_messages if m.get("role") == "tool"],
        "harness_imported": any(name.split(".")[0] == "osmosis_local" for name in sys.modules),
        "server_is_this_file": sys.modules["server"].__file__.endswith("rollout_server/server.py"),
        "app": sorted(server.app),
    }))


if __name__ == "__main__":
    main()
