"""Every command's `--help`: a one-line description, examples that parse, required options marked."""

from __future__ import annotations

import argparse
import shlex

import pytest
from helpers import REPO

from osmosis_local.cli.app import build_parser, parse_command_line
from osmosis_local.cli.help_text import EXAMPLES


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_examples() -> None:
    assert set(EXAMPLES) == set(_commands())
    assert all(2 <= len(lines) <= 3 for lines in EXAMPLES.values())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_help_has_a_description_examples_and_marks_required_options(name: str) -> None:
    sub = _commands()[name]
    text = sub.format_help()
    assert sub.description and sub.description.endswith(".") and "\n" not in sub.description.strip()
    assert "examples:\n  osmosis-local " + name in text
    for option in sub._actions:
        if option.required and option.option_strings:
            assert option.help and "(required)" in option.help, option.option_strings


@pytest.mark.parametrize(("name", "line"), [(n, line) for n, lines in EXAMPLES.items() for line in lines])
def test_every_example_parses(name: str, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the examples are written for the repository's root
    argv = shlex.split(line)
    assert argv[:2] == ["osmosis-local", name]
    _, args = parse_command_line(argv[1:])
    assert args.command == name
