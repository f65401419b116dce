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
from typing import Any

from osmosis_local import __version__
from osmosis_local.config.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TURNS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_TEST_MODEL,
    DEFAULT_TOOL_TIMEOUT_S,
)
from osmosis_local.errors import EXIT_USAGE


def _number(text: str, kind: type, accepts: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(_number(text, int, "a whole number >= 1"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int, "a whole number >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float, "a number of seconds > 0")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    return _number(text, float, "a finite number")


def _temperature(text: str) -> float:
    value = _number(text, float, "a number between 0 and 2")
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 2, got {text!r}")
    return value


def _fail_under(text: str) -> str:
    accepts = "X or MOD:FN=X with X a finite number"
    fn, sep, number = text.rpartition("=")
    try:
        _number(number, float, accepts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}") from None
    if sep and not fn.strip():
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}")
    return text


def _add_rollout_arguments(parser: argparse.ArgumentParser, *, model_required: bool) -> None:
    source = parser.add_argument_group("what to run")
    source.add_argument(
        "--mcp", metavar="DIR", help="directory with main.py that builds a FastMCP instance (e.g. ./mcp)"
    )
    source.add_argument(
        "--mcp-url", metavar="URL", help="instead of --mcp: a running MCP server over streamable HTTP, e.g. "
        "http://127.0.0.1:8080/mcp (python mcp/main.py)",
    )  # fmt: skip
    source.add_argument(
        "-m",
        "--module",
        "--agent",
        dest="module",
        metavar="MOD:ATTR",
        help="custom RolloutAgentLoop (Remote Rollout; not supported here: use --mcp)",
    )
    source.add_argument(
        "-d",
        "--dataset",
        required=True,
        help="rows with system_prompt, user_prompt, ground_truth (.jsonl, .json, .parquet, .csv)",
    )
    source.add_argument("--limit", type=_positive_int, help="at most this many rows (default: all)")
    source.add_argument("--offset", type=_non_negative_int, default=0, help="skip this many rows first (default: 0)")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        required=model_required,
        default=None if model_required else DEFAULT_TEST_MODEL,
        help="provider/model (a bare name means openai/<name>); local/qwen2.5-1.5b is the embedded offline model"
        + ("" if model_required else f" (default: {DEFAULT_TEST_MODEL})"),
    )
    model.add_argument("--api-key", help="API key for the model (default: the provider's env var or .env)")
    model.add_argument("--base-url", help="any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    model.add_argument(
        "--max-turns",
        type=_positive_int,
        default=DEFAULT_MAX_TURNS,
        help=f"LLM calls per rollout (default: {DEFAULT_MAX_TURNS})",
    )
    model.add_argument("--max-tokens", type=_positive_int, help="max tokens per LLM call (sent only if set)")
    model.add_argument("--temperature", type=_temperature, help="sampling temperature (sent only if set)")
    model.add_argument("--seed", type=_non_negative_int, help="sampling seed, passed to providers that accept it")
    model.add_argument(
        "--request-timeout",
        type=_positive_float,
        default=DEFAULT_REQUEST_TIMEOUT_S,
        help=f"seconds per LLM request (default: {DEFAULT_REQUEST_TIMEOUT_S:g})",
    )
    model.add_argument(
        "--max-retries",
        type=_non_negative_int,
        default=DEFAULT_MAX_RETRIES,
        help=f"retries on 429/5xx/timeouts, with backoff (default: {DEFAULT_MAX_RETRIES})",
    )
    model.add_argument(
        "--tool-timeout",
        type=_positive_float,
        default=DEFAULT_TOOL_TIMEOUT_S,
        help=f"seconds per tool call (default: {DEFAULT_TOOL_TIMEOUT_S:g})",
    )
    model.add_argument(
        "--llm-client",
        choices=("auto", "litellm"),
        default="auto",
        help="auto (default): plain HTTP for --base-url and local/ models, litellm for providers; "
        "litellm: every call through litellm",
    )

    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", help="write results as JSON to this file (parent dirs are created)")
    out.add_argument(
        "--log",
        help="append every finished run's transcript to this JSONL file "
        "(default: .osmosis-local/runs/<cmd>-<time>.jsonl)",
    )
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
    ev.add_argument(
        "--eval-fn",
        action="append",
        required=True,
        metavar="MOD:FN",
        help="scorer, repeatable (e.g. reward_fn.compute_reward:numbers_match_reward)",
    )
    ev.add_argument("--n", type=_positive_int, default=1, help="runs per row (default: 1); pass@k is reported when > 1")
    ev.add_argument(
        "--pass-threshold", type=_finite_float, default=1.0, help="a run passes when its score >= this (default: 1.0)"
    )
    ev.add_argument("--batch-size", type=_positive_int, default=1, help="rollouts in flight at once (default: 1)")
    ev.add_argument("--baseline-model", help="also run every (row, run) on this model and compare")
    ev.add_argument("--baseline-base-url", help="OpenAI-compatible URL for the baseline model")
    ev.add_argument("--baseline-api-key", help="API key for the baseline model")
    ev.add_argument("--resume", metavar="LOG", help="skip runs already in this transcript log and append to it")
    ev.add_argument(
        "--fail-under",
        type=_fail_under,
        action="append",
        metavar="X|FN=X",
        help="exit 3 if an eval function's mean over all runs is below X; FN=X for one function (repeatable)",
    )

    rescore = commands.add_parser(
        "rescore", help="score the saved runs of a transcript log again with other eval functions (no rollouts)"
    )
    rescore.add_argument("log", metavar="LOG", help="a transcript log written by eval (or by rescore)")
    rescore.add_argument("--eval-fn", action="append", required=True, metavar="MOD:FN", help="scorer, repeatable")
    rescore.add_argument("-o", "--output", help="write the results as JSON (the eval schema, command: rescore)")
    rescore.add_argument("--log", dest="new_log", metavar="FILE", help="its own transcript log "
                         "(default: .osmosis-local/runs/rescore-<time>.jsonl)")  # fmt: skip
    rescore.add_argument("--pass-threshold", type=_finite_float, help="default: the threshold the eval used")
    rescore.add_argument("--batch-size", type=_positive_int, default=8, help="runs scored at once (default: 8)")
    rescore.add_argument("--fail-under", type=_fail_under, action="append", metavar="X|FN=X",
                         help="exit 3 if an eval function's mean over all runs is below X")  # fmt: skip
    rescore.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    rescore.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    rescore.set_defaults(handler=_rescore)

    view = commands.add_parser("view", help="write one self-contained HTML report of a transcript log or results file")
    view.add_argument(
        "source", metavar="LOG_OR_RESULTS", help="a transcript log (.jsonl) or an -o results file (.json)"
    )
    view.add_argument("-o", "--output", help="the HTML file (default: next to the input, .html)")
    view.add_argument("--open", action="store_true", help="open it in the default browser")
    view.set_defaults(handler=_view)

    export = commands.add_parser("export", help="write a transcript log in another tool's format (inspect_ai)")
    export.add_argument("source", metavar="LOG", help="a transcript log (.jsonl) or an -o results file (.json)")
    export.add_argument("--format", choices=("inspect",), default="inspect", help="inspect: an inspect_ai .eval log")
    export.add_argument("-o", "--output", required=True, help="the file to write, e.g. run.eval")
    export.set_defaults(handler=_export)

    check = commands.add_parser(
        "check", help="inspect a content repository as the platform would (no model, no network); exit 1 on errors"
    )
    check.add_argument("path", nargs="?", default=".", metavar="PATH", help="the repository (default: .)")
    check.add_argument("-d", "--dataset", dest="datasets", action="append", default=[], metavar="FILE",
                       help="a dataset to check besides PATH/test_data.jsonl (repeatable)")  # fmt: skip
    check.add_argument("--eval-fn", dest="eval_fns", action="append", default=[], metavar="MOD:FN",
                       help="reward for the ground-truth self-check (repeatable; default: each reward_fn/ one)")
    check.add_argument("--format", dest="output_format", choices=("text", "json"), default="text",
                       help="text (default) or json (the schema is in the README)")  # fmt: skip
    check.add_argument("--no-serve", action="store_true", help="skip serving mcp/main.py to compare its tools")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too (for CI that wants none)")
    check.add_argument("--probe-rows", type=_non_negative_int, default=5, metavar="N",
                       help="rows each deterministic reward is probed on (default: 5; 0 = no probes)")  # fmt: skip
    check.set_defaults(handler=_check)

    new = commands.add_parser("new", help="write a new tool (with its test), reward or rubric that check passes")
    new.add_argument("kind", choices=("tool", "reward", "rubric"), help="what to create")
    new.add_argument("name", metavar="NAME", help="snake_case name of the function and its file, e.g. word_count")
    new.add_argument("--path", default=".", help="the content repository (default: .)")
    new.set_defaults(handler=_new)

    from osmosis_local.cli.serve_command import add_serve_commands

    add_serve_commands(commands)
    return parser


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from osmosis_local.checks import CheckConfig
    from osmosis_local.cli.check_command import run_check

    config = CheckConfig(
        path=Path(args.path), datasets=[Path(d) for d in args.datasets], eval_fns=args.eval_fns,
        serve=not args.no_serve, probe_rows=args.probe_rows,
    )  # fmt: skip
    return run_check(config, output_format=args.output_format, strict=args.strict)


def _new(args: argparse.Namespace) -> int:
    from pathlib import Path

    from osmosis_local.content.scaffold import ScaffoldError, scaffold

    try:
        made = scaffold(args.kind, args.name, Path(args.path))
    except ScaffoldError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    for path in made.files:
        print(f"created {path}")
    print("next:\n" + "\n".join(f"  {step}" for step in made.next_steps))
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from osmosis_local.cli.rescore_command import run_rescore

    return run_rescore(args)


def _view(args: argparse.Namespace) -> int:
    from osmosis_local.cli.view_command import run_view

    return run_view(args)


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from osmosis_local.errors import SetupError
    from osmosis_local.reports.inspect_export import export_inspect

    try:
        written = export_inspect(Path(args.source), Path(args.output))
    except SetupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"inspect_ai log written to {written} (open it: inspect view --log-dir {written.parent})", file=sys.stderr)
    return 0


def _check_source(args: argparse.Namespace) -> str | None:
    if getattr(args, "module", None):
        return (
            "-m/--module runs a custom RolloutAgentLoop (Remote Rollout), which osmosis-local does not host. "
            "Use --mcp ./mcp for Local Rollout, or the osmosis SDK for remote agents."
        )
    if getattr(args, "mcp", None) is None and getattr(args, "mcp_url", None) is None:
        return "--mcp DIR is required (the folder with main.py, e.g. --mcp ./mcp), or --mcp-url URL of a running server"
    if getattr(args, "mcp", None) is not None and getattr(args, "mcp_url", None) is not None:
        return "give either --mcp DIR or --mcp-url URL, not both"
    if args.command == "test" and args.row is not None and not args.interactive:
        return "--row needs -i/--interactive"
    return None


def _rollout_options(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "mcp",
        "mcp_url",
        "dataset",
        "model",
        "base_url",
        "api_key",
        "limit",
        "offset",
        "max_turns",
        "max_tokens",
        "temperature",
        "seed",
        "request_timeout",
        "max_retries",
        "tool_timeout",
        "llm_client",
        "output",
        "log",
    )
    return {name: getattr(args, name) for name in names}


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Any:
    """The command's typed configuration, built once from the flags; a bad combination exits 2."""
    from pydantic import ValidationError

    from osmosis_local.config import eval_config, test_config

    try:
        if args.command == "eval":
            return eval_config(
                **_rollout_options(args),
                eval_fn=args.eval_fn,
                n=args.n,
                pass_threshold=args.pass_threshold,
                batch_size=args.batch_size,
                baseline_model=args.baseline_model,
                baseline_base_url=args.baseline_base_url,
                baseline_api_key=args.baseline_api_key,
                resume=args.resume,
                fail_under=args.fail_under or [],
            )
        return test_config(**_rollout_options(args))
    except ValidationError as exc:
        parser.error("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command not in ("test", "eval"):
        return int(args.handler(args))
    problem = _check_source(args)
    if problem:
        parser.error(problem)  # exits 2, like every other bad argument
    config = _config(parser, args)
    if not args.debug:
        return _run(config, args)
    from osmosis_local.redaction import redacting_logging
    from osmosis_local.runner.session import run_redactor

    with redacting_logging(run_redactor(config)):
        return _run(config, args)


def _run(config: Any, args: argparse.Namespace) -> int:
    if args.command == "eval":
        from osmosis_local.cli.eval_command import run_eval

        return run_eval(config, quiet=args.quiet, debug=args.debug)
    if args.interactive:
        from osmosis_local.cli.interactive import run_interactive_command

        return run_interactive_command(config, start_row=args.row, debug=args.debug)
    from osmosis_local.cli.rollout_test_command import run_test

    return run_test(config, quiet=args.quiet, debug=args.debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
