"""Argument types and the flags `test` and `eval` share, and the one conversion of flags into settings.

Only argparse and the standard library load here (``--help`` must stay fast). A flag's ``dest`` is the name
of its settings field (``--n`` is ``n_runs``, ``--eval-fn`` is ``eval_fns``), so `settings_from_args`
builds the typed settings in one step.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any, TypeVar

from osmosis_local.config.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TURNS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_TEST_MODEL,
    DEFAULT_TOOL_TIMEOUT_S,
)

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    ModelT = TypeVar("ModelT", bound=BaseModel)


def _number(text: str, kind: type[int] | type[float], accepts: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, int, "a whole number >= 1"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int(_number(text, int, "a whole number >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number of seconds > 0")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    return _number(text, float, "a finite number")


def temperature(text: str) -> float:
    value = _number(text, float, "a number between 0 and 2")
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 2, got {text!r}")
    return value


def top_p(text: str) -> float:
    value = _number(text, float, "a number above 0 and at most 1")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 1, got {text!r}")
    return value


def fail_under(text: str) -> str:
    accepts = "X or MOD:FN=X with X a finite number"
    fn, sep, number = text.rpartition("=")
    try:
        _number(number, float, accepts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}") from None
    if sep and not fn.strip():
        raise argparse.ArgumentTypeError(f"expected {accepts}, got {text!r}")
    return text


def add_rollout_arguments(parser: argparse.ArgumentParser, *, model_required: bool) -> None:
    """The flags of `test` and `eval`: what to run, the model, the output."""
    source = parser.add_argument_group("what to run")
    source.add_argument(
        "--mcp", metavar="DIR", help="directory with main.py that builds a FastMCP instance (e.g. ./mcp); one of "
        "--mcp, --mcp-url, -m and --rollout-server is required"
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
        help="instead of --mcp: a RolloutAgentLoop (Remote Rollout), run in this process, e.g. server:agent_loop "
        "from rollout_server/",
    )
    source.add_argument(
        "--rollout-server", metavar="URL", help="instead of --mcp: a running RolloutServer (osmosis-local serve), "
        "driven over HTTP as the platform's trainer would, e.g. http://127.0.0.1:9000",
    )  # fmt: skip
    source.add_argument("--rollout-server-key", metavar="KEY", help="the RolloutServer's API key (when it has one)")
    source.add_argument(
        "--rollout-timeout", type=positive_float, metavar="S",
        help="seconds one -m / --rollout-server rollout may take (default: --request-timeout x (max turns + 1))",
    )  # fmt: skip
    source.add_argument(
        "-d",
        "--dataset",
        required=True,
        help="rows with system_prompt, user_prompt, ground_truth (.jsonl, .json, .parquet, .csv)",
    )
    source.add_argument("--limit", type=positive_int, help="at most this many rows (default: all)")
    source.add_argument("--offset", type=non_negative_int, default=0, help="skip this many rows first (default: 0)")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        required=model_required,
        default=None if model_required else DEFAULT_TEST_MODEL,
        help="provider/model (a bare name means openai/<name>); local/qwen2.5-1.5b is the embedded offline model"
        + ("" if model_required else f" (default: {DEFAULT_TEST_MODEL})"),
    )
    model.add_argument("--api-key", help="API key for the model (default: the provider's env var or .env)")
    model.add_argument("--base-url", action="append",
                       help="any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1; repeat it for replicas of "
                            "the model (each request goes to the least busy; a failing one is taken out)")  # fmt: skip
    model.add_argument(
        "--max-turns",
        type=positive_int,
        default=DEFAULT_MAX_TURNS,
        help=f"LLM calls per rollout (default: {DEFAULT_MAX_TURNS})",
    )
    model.add_argument("--max-tokens", type=positive_int, help="max tokens per LLM call (sent only if set)")
    model.add_argument("--temperature", type=temperature, help="sampling temperature (sent only if set)")
    model.add_argument("--top-p", type=top_p, help="nucleus sampling: the probability mass kept (sent only if set)")
    model.add_argument("--seed", type=non_negative_int, help="sampling seed, passed to providers that accept it")
    model.add_argument(
        "--request-timeout",
        type=positive_float,
        default=DEFAULT_REQUEST_TIMEOUT_S,
        help=f"seconds per LLM request (default: {DEFAULT_REQUEST_TIMEOUT_S:g})",
    )
    model.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=DEFAULT_MAX_RETRIES,
        help=f"retries on 429/5xx/timeouts, with backoff (default: {DEFAULT_MAX_RETRIES})",
    )
    model.add_argument(
        "--tool-timeout",
        type=positive_float,
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

    parser.add_argument(
        "--config", metavar="FILE.toml",
        help="read flags from this TOML file (keys are the flags: model = \"gpt-5-mini\", eval_fn = [...]); "
        "flags given here win; its paths are relative to the file",
    )  # fmt: skip
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", help="write results as JSON to this file (parent dirs are created)")
    out.add_argument(
        "--log",
        help="append every finished run's transcript to this JSONL file "
        "(default: .osmosis-local/runs/<cmd>-<time>.jsonl)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    out.add_argument("--debug", action="store_true", help="debug logging and tracebacks")


SOURCES = {"mcp": "--mcp", "mcp_url": "--mcp-url", "module": "-m", "rollout_server": "--rollout-server"}


def source_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the flags that say what runs, if anything (the message argparse prints, exit 2)."""
    given = [flag for dest, flag in SOURCES.items() if getattr(args, dest, None) is not None]
    if not given:
        return (
            "--mcp DIR is required (the folder with main.py, e.g. --mcp ./mcp), or --mcp-url URL of a running tool "
            "server, -m MOD:ATTR of an agent loop (Remote Rollout), or --rollout-server URL of a RolloutServer"
        )
    if len(given) > 1:
        return f"give one of --mcp, --mcp-url, -m and --rollout-server, not {' and '.join(given)}"
    if getattr(args, "rollout_server_key", None) and getattr(args, "rollout_server", None) is None:
        return "--rollout-server-key needs --rollout-server"
    return None


def settings_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace, model: type[ModelT]) -> ModelT:
    """The command's typed settings, built once from the flags; a bad value or combination exits 2."""
    from pydantic import ValidationError

    options: dict[str, Any] = {name: getattr(args, name) for name in model.model_fields if hasattr(args, name)}
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        parser.error("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
    except ValueError as exc:
        parser.error(str(exc))
