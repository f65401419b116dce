"""`osmosis-local`: the command line, flag-compatible with the SDK's `osmosis test/eval --mcp`.

Every command is a module of this package with `add_parser(commands)` (argparse only, so `osmosis-local
--help` answers instantly) and `run(args, parser) -> exit code`, which imports the command's heavy modules
(litellm, fastmcp) when it runs and converts the flags into typed settings once. Exit codes
(`osmosis_local.errors`): 0 done, 1 setup error or a run stopped by a systemic provider error, 2 bad
arguments, 3 `eval --fail-under` not met.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from osmosis_local import __version__
from osmosis_local.cli import (
    check_command,
    eval_command,
    export_command,
    merge_command,
    new_command,
    rescore_command,
    rollout_server_command,
    rollout_test_command,
    serve_command,
    view_command,
)
from osmosis_local.cli.config_file import ConfigFileError, apply_config_file, config_path_in
from osmosis_local.cli.help_text import document_commands
from osmosis_local.errors import EXIT_INTERRUPTED, EXIT_USAGE

COMMANDS = (
    rollout_test_command,
    eval_command,
    rescore_command,
    view_command,
    export_command,
    merge_command,
    check_command,
    new_command,
    rollout_server_command,
    serve_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osmosis-local",
        description="Run the Osmosis Local Rollout agent loop on your laptop: MCP tools, rewards, rubrics.",
    )
    parser.add_argument("--version", action="version", version=f"osmosis-local {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    _remember_own_parsers(parser)
    document_commands(parser)
    return parser


def _command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser | None:
    """The subcommand's parser named by the first argument that is a command, if any."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return next((action.choices[arg] for arg in argv if arg in action.choices), None)
    return None


def _remember_own_parsers(parser: argparse.ArgumentParser) -> None:
    """Each (sub)command's parser as its ``command_parser`` default, so a usage error found after parsing (a bad
    combination of flags) prints that command's usage, not the top level's."""
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(command_parser=sub)
                _remember_own_parsers(sub)


def parse_command_line(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser and the parsed arguments; a ``--config`` file's values are the command's defaults first."""
    parser = build_parser()
    config = config_path_in(argv)
    command = _command_parser(parser, argv)
    if config is not None and command is not None and any("--config" in a.option_strings for a in command._actions):
        try:
            apply_config_file(command, config)
        except ConfigFileError as exc:
            command.error(str(exc))
    return parser, parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = parse_command_line(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return int(args.handler(args, getattr(args, "command_parser", parser)))


def entry() -> None:  # pragma: no cover - ends the process; tested by running the command in a subprocess
    """The `osmosis-local` command: `main`, then the exit.

    Output never fails on text it cannot encode (it is escaped). A thread of user code that never returned (a
    hung sync tool, which cannot be stopped) does not keep the process alive: the command says so and exits.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        code = EXIT_INTERRUPTED
    from osmosis_local.user_code import exit_now, stuck_threads

    stuck = stuck_threads()
    if stuck:
        sys.stderr.write(
            f"Note: {len(stuck)} thread(s) of user code (a tool that never returned) are still running; "
            "exiting without waiting for them.\n"
        )
        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
