"""`serve-model` and `serve-scripted-policy`: OpenAI-compatible endpoints on loopback.

The arguments are declared here (cheap) and the servers imported only when the command runs, so that
`osmosis-local --help` never loads llama.cpp or litellm.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from osmosis_local.local_model.registry import DEFAULT_LOCAL_MODEL, get_local_model  # data only, cheap


def _whole_number_at_least_1(flag: str) -> Callable[[str], int]:
    """An argparse `type` for `flag`: a whole number >= 1, or an error saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = 0
        else:
            if value >= 1:
                return value
        raise argparse.ArgumentTypeError(f"{flag} must be a whole number >= 1, got {text!r}")

    return parse


def _serve_model(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.local_model import run_serve_model

    return int(run_serve_model(args))


def _serve_scripted_policy(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.testing.scripted_policy import run

    return int(run(args))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    model = commands.add_parser(
        "serve-model",
        help="serve the embedded offline model as an OpenAI-compatible endpoint (needs the [local] extra)",
        description="Serve the embedded model at http://HOST:PORT/v1 so any OpenAI-compatible client "
        "(including the SDK's `osmosis test --base-url`) can use it. No API key needed.",
    )
    model.add_argument(
        "--model", default=DEFAULT_LOCAL_MODEL, help=f"embedded model name (default: {DEFAULT_LOCAL_MODEL})"
    )
    model.add_argument(
        "--host", default="127.0.0.1", help="bind address (default: 127.0.0.1; 0.0.0.0 inside a container)"
    )
    model.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    model.add_argument(
        "--n-ctx", type=_whole_number_at_least_1("--n-ctx"), default=None, metavar="TOKENS",
        help=f"context size in tokens (default: the model's own, {get_local_model(DEFAULT_LOCAL_MODEL).n_ctx} "
        f"for {DEFAULT_LOCAL_MODEL})",
    )
    model.add_argument(
        "--threads", type=_whole_number_at_least_1("--threads"), default=None, metavar="N",
        help="CPU threads for llama.cpp (default: $OSMOSIS_LOCAL_THREADS, else every core this process may use)",
    )
    model.set_defaults(handler=_serve_model)

    from osmosis_local.testing.scripted_policy import (
        add_arguments as add_scripted_policy_arguments,  # stdlib-only module
    )

    scripted = commands.add_parser(
        "serve-scripted-policy",
        help="TEST DOUBLE: an OpenAI-compatible endpoint whose 'policy' follows each row's scripted steps",
        description="A scripted stand-in for a model: it solves dataset rows by calling the tools listed in "
        "each row's `steps` column, then answers `#### <result>`; a dataset with rows without `steps` is "
        "refused unless --answer ground-truth (answer with the ground truth, no tools). Use it to check the "
        "harness, tools and rewards end to end without a model; optional faults (latency, 429s, hangs) "
        "exercise the runner.",
    )
    add_scripted_policy_arguments(scripted)
    scripted.set_defaults(handler=_serve_scripted_policy)
