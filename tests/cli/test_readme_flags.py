"""The README documents every flag of every `osmosis-local` command (the runner issue's "done means").

Reads the real argparse tree, so a flag added to the CLI without a line in the README fails here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from osmosis_local.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert actions, "the CLI has no subcommands"
    return dict(actions[0].choices)


def _long_flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted({s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"})


CASES = [(name, flag) for name, sub in _subcommands().items() for flag in _long_flags(sub)]


def test_every_subcommand_is_in_the_readme() -> None:
    for name in _subcommands():
        assert f"osmosis-local {name}" in README, name


@pytest.mark.parametrize(("command", "flag"), CASES, ids=[f"{c} {f}" for c, f in CASES])
def test_flag_is_documented(command: str, flag: str) -> None:
    assert re.search(re.escape(flag) + r"(?![a-z-])", README), f"`osmosis-local {command} {flag}` is not in README.md"
