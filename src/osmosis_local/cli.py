"""`osmosis-local`: the command line, flag-compatible with the SDK's `osmosis test/eval --mcp`.

Only argparse and the standard library load here, so `osmosis-local --help` answers instantly; each
command imports its heavy modules (litellm, fastmcp) when it runs. Exit codes: 0 done, 1 setup error
or a run stopped by a systemic provider error, 2 bad arguments, 3 `eval --fail-under` not met.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from osmosis_local import __version__

EXIT_OK = 0
EXIT_SETUP = 1
EXIT_USAGE = 2
EXIT_FAIL_UNDER = 3

DEFAULT_TEST_MODEL = "gpt-5-mini"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _temperature(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2, got {text}")
    return value


def _add_rollout_arguments(parser: argparse.ArgumentParser, *, model_required: bool) -> None:
    source = parser.add_argument_group("what to run")
    source.add_argument("--mcp", metavar="DIR", help="directory with main.py that builds a FastMCP instance (e.g. ./mcp)")
    source.add_argument(
        "-m", "--module", "--agent", dest="module", metavar="MOD:ATTR",
        help="custom RolloutAgentLoop (Remote Rollout; not supported here: use --mcp)",
    )
    source.add_argument("-d", "--dataset", required=True, help="rows with system_prompt, user_prompt, ground_truth (.jsonl, .json, .parquet, .csv)")
    source.add_argument("--limit", type=_positive_int, help="at most this many rows (default: all)")
    source.add_argument("--offset", type=_non_negative_int, default=0, help="skip this many rows first (default: 0)")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", required=model_required, default=None if model_required else DEFAULT_TEST_MODEL,
        help="provider/model (a bare name means openai/<name>); local/qwen2.5-1.5b is the embedded offline model"
        + ("" if model_required else f" (default: {DEFAULT_TEST_MODEL})"),
    )
    model.add_argument("--api-key", help="API key for the model (default: the provider's env var or .env)")
    model.add_argument("--base-url", help="any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    model.add_argument("--max-turns", type=_positive_int, default=10, help="LLM calls per rollout (default: 10)")
    model.add_argument("--max-tokens", type=_positive_int, help="max tokens per LLM call (sent only if set)")
    model.add_argument("--temperature", type=_temperature, help="sampling temperature (sent only if set)")
    model.add_argument("--seed", type=_non_negative_int, help="sampling seed, passed to providers that accept it")
    model.add_argument("--request-timeout", type=_positive_float, default=120.0, help="seconds per LLM request (default: 120)")
    model.add_argument("--max-retries", type=_non_negative_int, default=3, help="retries on 429/5xx/timeouts, with backoff (default: 3)")
    model.add_argument("--tool-timeout", type=_positive_float, default=30.0, help="seconds per tool call (default: 30)")

    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", help="write results as JSON to this file (parent dirs are created)")
    out.add_argument("--log", help="append every finished run's transcript to this JSONL file (default: .osmosis-local/runs/<cmd>-<time>.jsonl)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    out.add_argument("--debug", action="store_true", help="debug logging and tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osmosis-local",
        description="Run the Osmosis Local Rollout agent loop on your laptop: MCP tools, rewards, rubrics.",
    )
    parser.add_argument("--version", action="version", version=f"osmosis-local {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    test = commands.add_parser("test", help="run the agent loop on each row; pass = the rollout completed")
    _add_rollout_arguments(test, model_required=False)
    test.add_argument("-i", "--interactive", action="store_true", help="step through rollouts turn by turn")
    test.add_argument("--row", type=_non_negative_int, help="with -i: start at this absolute row index")

    ev = commands.add_parser("eval", help="run rollouts and score them with eval functions")
    _add_rollout_arguments(ev, model_required=True)
    ev.add_argument("--eval-fn", action="append", required=True, metavar="MOD:FN", help="scorer, repeatable (e.g. reward_fn.compute_reward:numbers_match_reward)")
    ev.add_argument("--n", type=_positive_int, default=1, help="runs per row (default: 1); pass@k is reported when > 1")
    ev.add_argument("--pass-threshold", type=_finite_float, default=1.0, help="a run passes when its score >= this (default: 1.0)")
    ev.add_argument("--batch-size", type=_positive_int, default=1, help="rollouts in flight at once (default: 1)")
    ev.add_argument("--baseline-model", help="also run every (row, run) on this model and compare")
    ev.add_argument("--baseline-base-url", help="OpenAI-compatible URL for the baseline model")
    ev.add_argument("--baseline-api-key", help="API key for the baseline model")
    ev.add_argument("--resume", metavar="LOG", help="skip runs already in this transcript log and append to it")
    ev.add_argument("--fail-under", type=_finite_float, metavar="X", help="exit 3 if the first eval function's mean is below X")

    from osmosis_local.commands.serve import add_serve_commands

    add_serve_commands(commands)
    return parser


def _check_source(args: argparse.Namespace) -> str | None:
    if getattr(args, "module", None):
        return (
            "-m/--module runs a custom RolloutAgentLoop (Remote Rollout), which osmosis-local does not host. "
            "Use --mcp ./mcp for Local Rollout, or the osmosis SDK for remote agents."
        )
    if getattr(args, "mcp", None) is None:
        return "--mcp DIR is required (the folder with main.py, e.g. --mcp ./mcp)"
    if args.command == "eval":
        if (args.baseline_base_url or args.baseline_api_key) and not args.baseline_model:
            return "--baseline-base-url and --baseline-api-key need --baseline-model"
        if len(set(args.eval_fn)) != len(args.eval_fn):
            return "each --eval-fn may be given once (duplicates found)"
    if args.command == "test" and args.row is not None and not args.interactive:
        return "--row needs -i/--interactive"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command in ("test", "eval"):
        problem = _check_source(args)
        if problem:
            parser.error(problem)  # exits 2, like every other bad argument
        if args.debug:
            import logging

            logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "test":
        from osmosis_local.commands.test_command import run_test

        return run_test(args)
    if args.command == "eval":
        from osmosis_local.commands.eval_command import run_eval

        return run_eval(args)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
