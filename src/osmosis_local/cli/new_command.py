"""`osmosis-local new tool|reward|rubric NAME`: write a new tool (with its test), reward or rubric."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    new = commands.add_parser("new", help="write a new tool (with its test), reward or rubric that check passes")
    new.add_argument("kind", choices=("tool", "reward", "rubric"), help="what to create")
    new.add_argument("name", metavar="NAME", help="snake_case name of the function and its file, e.g. word_count")
    new.add_argument("--path", default=".", help="the content repository (default: .)")
    new.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from osmosis_local.content.scaffold import ScaffoldError, scaffold
    from osmosis_local.errors import EXIT_FAILED, EXIT_OK

    try:
        made = scaffold(args.kind, args.name, Path(args.path))
    except ScaffoldError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for path in made.files:
        print(f"created {path}")
    print("next:\n" + "\n".join(f"  {step}" for step in made.next_steps))
    return EXIT_OK
