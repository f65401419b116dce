"""End to end with the real embedded model: weights → llama.cpp → HTTP endpoint → litellm → MCP tools.

Loads the real 1.1 GB model (the `[local]` extra), so it is marked `local_model`; about a minute
on 2 cores. One dataset row is solved the way the runner does it (model → tool call → real tool
result → final `#### N`), and the judge's JSON-schema reply format is checked on the same endpoint.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from mcp_servers import REPO_ROOT, load_tool_server

import osmosis_local  # noqa: F401  (offline env before litellm/fastmcp)
from osmosis_local.local_model import DEFAULT_LOCAL_MODEL
from osmosis_local.local_model.server import PLACEHOLDER_API_KEY, start_local_endpoint
from osmosis_local.tools.runner import ToolRunner
from osmosis_local.tools.schema import convert_tools

pytestmark = [pytest.mark.local_model, pytest.mark.timeout(300)]


def _first_one_step_row() -> dict[str, Any]:
    for line in (REPO_ROOT / "test_data.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["num_steps"] == 1:
            return row
    raise AssertionError("test_data.jsonl has no one-step row")


def _reward():
    import importlib.util

    spec = importlib.util.spec_from_file_location("it_reward", Path(REPO_ROOT) / "reward_fn" / "compute_reward.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.numbers_match_reward


def _complete(base_url: str, **kwargs: Any):
    import litellm

    return litellm.completion(model=f"openai/{DEFAULT_LOCAL_MODEL}", api_base=base_url,
                              api_key=PLACEHOLDER_API_KEY, num_retries=0, timeout=240, **kwargs)


async def _solve(base_url: str, row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": row["system_prompt"]},
                                      {"role": "user", "content": row["user_prompt"]}]
    finish_reasons = []
    async with ToolRunner(load_tool_server()) as runner:
        tools, _ = convert_tools(await runner.list_tools())
        for _ in range(4):
            reply = await asyncio.to_thread(_complete, base_url, messages=messages, tools=tools, temperature=0)
            choice = reply.choices[0]
            finish_reasons.append(choice.finish_reason)
            message = choice.message.model_dump(exclude_none=True)
            messages.append({k: message[k] for k in ("role", "content", "tool_calls") if k in message})
            if not message.get("tool_calls"):
                break
            for call in message["tool_calls"]:
                outcome = await runner.call(call["function"]["name"], call["function"]["arguments"], call_id=call["id"])
                messages.append({"role": "tool", "content": outcome.content, "tool_call_id": outcome.call_id})
    return messages, finish_reasons


def test_the_real_model_solves_a_one_step_row_through_http_and_mcp_tools() -> None:
    row = _first_one_step_row()
    base_url = start_local_endpoint(DEFAULT_LOCAL_MODEL)
    assert start_local_endpoint(DEFAULT_LOCAL_MODEL) == base_url  # once per process

    messages, finish_reasons = asyncio.run(_solve(base_url, row))

    calls = [c for m in messages if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert calls and calls[0]["function"]["name"] == row["steps"][0]["tool"]
    assert json.loads(calls[0]["function"]["arguments"]).keys() == row["steps"][0]["arguments"].keys()
    results = [m["content"] for m in messages if m["role"] == "tool"]
    assert results[0] == row["ground_truth"]  # the real tool computed the answer
    assert finish_reasons[0] == "tool_calls" and finish_reasons[-1] == "stop"
    final = messages[-1]["content"]
    assert _reward()(final, row["ground_truth"], row) == 1.0, final


def test_the_real_model_answers_the_judge_schema() -> None:
    base_url = start_local_endpoint(DEFAULT_LOCAL_MODEL)
    schema = {"type": "object", "properties": {"score": {"type": "number"}, "explanation": {"type": "string"}},
              "required": ["score", "explanation"], "additionalProperties": False}
    messages = [
        {"role": "system", "content": "You are an impartial judge. Reply only with a JSON object holding "
                                      "`score` (0.0 to 1.0) and `explanation`."},
        {"role": "user", "content": "Rubric: the answer must equal the ground truth.\n"
                                    "Candidate: #### 42\nGround truth: 42\nReply with JSON only."},
    ]

    reply = _complete(base_url, messages=messages, temperature=0, max_tokens=300,
                      response_format={"type": "json_schema",
                                       "json_schema": {"name": "reward_rubric_response", "strict": True,
                                                       "schema": schema}})

    verdict = json.loads(reply.choices[0].message.content)
    assert set(verdict) == {"score", "explanation"}
    assert isinstance(verdict["score"], (int, float)) and verdict["explanation"].strip()
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
