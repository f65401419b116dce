"""Benchmark the embedded model on real dataset rows with the real MCP tools.

Prints load time, decode speed (tokens/s), seconds per row and accuracy by number of steps. With
`--baseline native` the same rows also run through llama.cpp's own tool calling (tools passed to the
chat template, no constrained turns), and the accuracy ratio of our protocol over it is printed.

    python benchmarks/local_model_bench.py --rows-per-step 3
    python benchmarks/local_model_bench.py --rows-per-step 2 --baseline native

Rows are the first N of each `num_steps` in file order, so runs are comparable. Slow on 2 cores:
about 10-40 s per row.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import osmosis_local  # noqa: F401  (offline env defaults before fastmcp/litellm)
from osmosis_local.content.mcp_loader import load_mcp_server
from osmosis_local.local_model import get_local_model
from osmosis_local.local_model.engine import LocalEngine
from osmosis_local.tools.runner import ToolRunner
from osmosis_local.tools.schema import convert_tools

REPO = Path(__file__).resolve().parent.parent
TRACE = False


def load_reward():
    """The repository's own `numbers_match_reward`, so the benchmark scores as the eval does."""
    sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location("bench_reward", REPO / "reward_fn" / "compute_reward.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.numbers_match_reward


def pick_rows(path: Path, per_step: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    taken: dict[int, int] = defaultdict(int)
    picked = []
    for row in rows:
        if taken[row["num_steps"]] < per_step:
            taken[row["num_steps"]] += 1
            picked.append(row)
    return sorted(picked, key=lambda r: r["num_steps"])


def speeds(engine: LocalEngine) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) from llama.cpp's own timings of one uncached request."""
    raw = engine._backend.handle_chat_completions({  # noqa: SLF001 - timings are not in the OpenAI reply
        "messages": [{"role": "user", "content": "Count from 1 to 60, comma separated. " * 8}],
        "max_tokens": 96, "temperature": 0, "cache_prompt": False})
    timings = raw.get("timings") or {}
    return float(timings.get("prompt_per_second", 0.0)), float(timings.get("predicted_per_second", 0.0))


def native_turn(engine: LocalEngine, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Baseline: llama.cpp's own tool calling through the chat template (what you get 'for free')."""
    raw = engine._backend.handle_chat_completions(  # noqa: SLF001 - the baseline needs the raw backend
        {"messages": messages, "tools": tools, "temperature": 0, "max_tokens": 512})
    if "error" in raw:
        raise RuntimeError(raw["error"])
    return raw


async def run_row(engine: LocalEngine, runner: ToolRunner, tools: list[dict[str, Any]], row: dict[str, Any],
                  max_turns: int, mode: str) -> tuple[str, int, int]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": row["system_prompt"]},
                                      {"role": "user", "content": row["user_prompt"]}]
    tokens = turns = 0
    for _ in range(max_turns):
        turns += 1
        request = {"model": engine.model_name, "messages": messages, "tools": tools, "temperature": 0}
        reply = engine.chat_completion(request) if mode == "ours" else native_turn(engine, messages, tools)
        tokens += reply["usage"]["completion_tokens"]
        message = {k: v for k, v in reply["choices"][0]["message"].items() if v is not None}
        message = {k: message[k] for k in ("role", "content", "tool_calls") if k in message}
        messages.append(message)
        if TRACE:
            calls = [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
            print("   ", repr(message.get("content"))[:300], calls)
        if not message.get("tool_calls"):
            return str(message.get("content") or ""), turns, tokens
        for call in message["tool_calls"]:
            outcome = await runner.call(call["function"]["name"], call["function"]["arguments"], call_id=call["id"])
            messages.append({"role": "tool", "content": outcome.content, "tool_call_id": outcome.call_id})
            if TRACE:
                print("    ->", outcome.content[:100])
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "assistant" and m.get("content")), "")
    return str(last or ""), turns, tokens


async def run_mode(
    engine: LocalEngine, rows: list[dict[str, Any]], max_turns: int, mode: str, reward
) -> dict[int, list[float]]:
    by_steps: dict[int, list[float]] = defaultdict(list)
    seconds: list[float] = []
    async with ToolRunner(load_mcp_server(REPO / "mcp")) as runner:
        tools, _ = convert_tools(await runner.list_tools())
        for row in rows:
            started = time.perf_counter()
            answer, turns, tokens = await run_row(engine, runner, tools, row, max_turns, mode)
            elapsed = time.perf_counter() - started
            score = float(reward(answer, row["ground_truth"], row))
            by_steps[row["num_steps"]].append(score)
            seconds.append(elapsed)
            shown = answer.replace("\n", " ")[:48]
            print(f"[{mode}] {row['id']} steps={row['num_steps']} {'OK ' if score == 1.0 else 'BAD'} "
                  f"turns={turns} tokens={tokens} {elapsed:5.1f}s  truth={row['ground_truth']}  answer={shown!r}",
                  flush=True)
    by_steps[-1] = seconds  # type: ignore[assignment]
    return by_steps


def report(mode: str, result: dict[int, list[float]]) -> dict[int, float]:
    seconds = result.pop(-1)
    accuracy = {}
    print(f"\n{mode}: accuracy by num_steps")
    for steps in sorted(result):
        scores = result[steps]
        accuracy[steps] = sum(scores) / len(scores)
        print(f"  {steps} step(s): {sum(scores):.0f}/{len(scores)} = {accuracy[steps]:.0%}")
    total = [s for scores in result.values() for s in scores]
    accuracy[0] = sum(total) / len(total)
    print(f"  all: {sum(total):.0f}/{len(total)} = {accuracy[0]:.0%}; "
          f"{sum(seconds) / len(seconds):.1f} s per row (max {max(seconds):.1f} s)")
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-per-step", type=int, default=3, help="rows per num_steps value (default 3)")
    parser.add_argument("--dataset", type=Path, default=REPO / "test_data.jsonl")
    parser.add_argument("--model", default="local/qwen2.5-1.5b")
    parser.add_argument("--max-turns", type=int, default=8)
    parser.add_argument("--baseline", choices=["none", "native"], default="none")
    parser.add_argument("--ids", default="", help="comma-separated row ids to run instead")
    parser.add_argument("--trace", action="store_true", help="print every turn")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    engine = LocalEngine.load(get_local_model(args.model))
    print(f"load: {engine.load_seconds:.1f} s (engine), {time.perf_counter() - started:.1f} s incl. weight check")
    prompt_speed, decode_speed = speeds(engine)
    print(f"speed: prompt {prompt_speed:.1f} tokens/s, decode {decode_speed:.1f} tokens/s")
    rows = pick_rows(args.dataset, args.rows_per_step)
    if args.ids:
        wanted = set(args.ids.split(","))
        rows = [r for r in rows if r["id"] in wanted] or [
            json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["id"] in wanted]
    global TRACE
    TRACE = args.trace
    reward = load_reward()
    ours = report("constrained protocol", asyncio.run(run_mode(engine, rows, args.max_turns, "ours", reward)))
    if args.baseline == "native":
        base = report(
            "native llama.cpp tool calling", asyncio.run(run_mode(engine, rows, args.max_turns, "native", reward))
        )
        print("\nratio (ours / native accuracy):")
        for steps in sorted(ours):
            label = "all" if steps == 0 else f"{steps} step(s)"
            ratio = f"{ours[steps] / base[steps]:.2f}x" if base.get(steps) else "n/a (baseline 0%)"
            print(f"  {label}: {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
