"""Every command's `--help`: a one-line description, two or three examples, and required options marked so.

The examples are real command lines for this repository's layout (a test runs each one's parsing, so none goes
stale).
"""

from __future__ import annotations

import argparse

__all__ = ["EXAMPLES", "document_commands"]

EVAL_FN = "reward_fn.compute_reward:numbers_match_reward"

EXAMPLES: dict[str, list[str]] = {
    "test": [
        "osmosis-local test --mcp ./mcp -d test_data.jsonl --model local/qwen2.5-1.5b --limit 3",
        "osmosis-local test --mcp ./mcp -d test_data.jsonl --model gpt-5-mini -i --row 4",
        "osmosis-local test -m server:agent_loop -d test_data.jsonl --model gpt-5-mini",
    ],
    "eval": [
        f"osmosis-local eval --mcp ./mcp -d test_data.jsonl --eval-fn {EVAL_FN} --model local/qwen2.5-1.5b",
        f"osmosis-local eval --mcp ./mcp -d test_data.jsonl --eval-fn {EVAL_FN} --model gpt-5-mini --n 4 "
        "--baseline-model gpt-4o-mini --max-cost 2",
        f"osmosis-local eval --mcp-url http://tools:8080/mcp -d test_data.jsonl --eval-fn {EVAL_FN} --model m "
        "--base-url http://vllm:8000/v1 --shard 0/3 --log shard-0.jsonl",
    ],
    "rescore": [
        "osmosis-local rescore .osmosis-local/runs/eval-20261205-101500.jsonl --eval-fn reward_fn.strict:strict",
        f"osmosis-local rescore runs.jsonl --eval-fn {EVAL_FN} --show failures -o rescored.json",
    ],
    "view": [
        "osmosis-local view runs.jsonl -o report.html",
        "osmosis-local view results/eval.json --open",
    ],
    "export": [
        "osmosis-local export runs.jsonl -o runs.eval",
        "osmosis-local export results/eval.json -o runs.json",
    ],
    "merge": [
        "osmosis-local merge shard-0.jsonl shard-1.jsonl shard-2.jsonl -o result.json --log merged.jsonl",
        "osmosis-local merge logs/*.jsonl -o result.json",
    ],
    "check": [
        "osmosis-local check",
        f"osmosis-local check ../my-repo --eval-fn {EVAL_FN} --strict",
        "osmosis-local check --format json --no-serve",
    ],
    "new": [
        "osmosis-local new tool word_count",
        "osmosis-local new reward exact_match",
        "osmosis-local new rubric helpfulness --path ../my-repo",
    ],
    "serve": [
        "osmosis-local serve -m server:agent_loop",
        "osmosis-local serve -m server:agent_loop -p 9000 --api-key $ROLLOUT_KEY",
    ],
    "validate": [
        "osmosis-local validate -m server:agent_loop",
        "osmosis-local validate -m server:agent_loop -v",
    ],
    "serve-model": [
        "osmosis-local serve-model",
        "osmosis-local serve-model --port 8000",
    ],
    "serve-scripted-policy": [
        "osmosis-local serve-scripted-policy -d test_data.jsonl",
        "osmosis-local serve-scripted-policy -d test_data.jsonl --wrong-answer-rate 0.3 --port 8001",
    ],
}


def document_commands(parser: argparse.ArgumentParser) -> None:
    """Give each subcommand its one-line help as its description, its examples as the epilog, and mark its
    required options "(required)"."""
    for action in parser._actions:  # argparse keeps its subcommands only here
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            if sub.description is None and helps.get(name):
                sub.description = str(helps[name])[0].upper() + str(helps[name])[1:] + "."
            examples = EXAMPLES.get(name)
            if examples:
                sub.epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
            for option in sub._actions:
                if option.required and option.option_strings and option.help and "(required" not in option.help:
                    option.help += " (required)"
