"""`--config FILE.toml`: the flags of `test` / `eval` kept in a file; flags on the command line win.

The file's keys are the command's flags, spelled as in `--help` or with underscores (``eval-fn`` or ``eval_fn``,
``max_turns``); a repeatable flag takes a list. Paths in it (``mcp``, ``dataset``, ``output``, ``log``,
``resume``) are relative to the file's folder, so one file works from anywhere. The values become the parser's
defaults before the command line is parsed, so anything typed there overrides them, and everything goes through
the same typed settings as flags do (a bad value is the same usage error, naming the key). The file's path is
recorded in the settings (``config_file``), and the transcript header records the settings as resolved.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ConfigFileError", "config_path_in", "apply_config_file"]

PATH_KEYS = frozenset({"mcp", "dataset", "output", "log", "resume"})
NOT_IN_A_FILE = frozenset({"help", "config", "interactive", "row"})  # what makes no sense to keep in a file


class ConfigFileError(Exception):
    """A config file that cannot be read or names something the command does not have (a usage error)."""


def config_path_in(argv: Sequence[str]) -> str | None:
    """The value of ``--config`` in ``argv`` (``--config F`` or ``--config=F``), or None."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"--config {path}: cannot be read ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"--config {path} is not valid TOML: {exc}") from None


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The parser's options by every spelling a file may use: ``eval-fn``, ``eval_fn`` and the dest."""
    found: dict[str, argparse.Action] = {}
    for action in parser._actions:  # argparse keeps its options only here
        if not action.option_strings or action.dest in NOT_IN_A_FILE:
            continue
        for option in action.option_strings:
            if option.startswith("--"):
                found[option[2:]] = found[option[2:].replace("-", "_")] = action
        found[action.dest] = action
    return found


def apply_config_file(parser: argparse.ArgumentParser, path_text: str) -> Path:
    """Read the file and make its values ``parser``'s defaults (the command line still wins); options the file
    gives are no longer required on the command line. Raises `ConfigFileError`. Returns the file's path."""
    path = Path(path_text).expanduser().resolve()
    data = _read(path)
    options = _options(parser)
    unknown = sorted(key for key in data if key not in options)
    if unknown:
        known = sorted({next(o for o in a.option_strings if o.startswith("--"))[2:] for a in options.values()})
        raise ConfigFileError(
            f"--config {path}: {', '.join(unknown)} {'is not a flag' if len(unknown) == 1 else 'are not flags'} of "
            f"`{parser.prog}`; its keys are the flags, e.g. {', '.join(known[:12])}, ..."
        )
    defaults: dict[str, Any] = {}
    for key, value in data.items():
        action = options[key]
        if isinstance(value, dict) and action.dest != "fail_under":
            raise ConfigFileError(f"--config {path}: {key} takes a value, not a table")
        if action.dest in PATH_KEYS and isinstance(value, str):
            value = str((path.parent / value).resolve()) if not Path(value).is_absolute() else value
        if isinstance(action, argparse._AppendAction):
            value = value if isinstance(value, list) or isinstance(value, dict) else [value]
            if isinstance(value, dict):  # fail_under = {numbers_match_reward = 0.5}
                value = [f"{fn}={threshold}" for fn, threshold in value.items()]
            value = [str(v) if not isinstance(v, str) else v for v in value]
        elif isinstance(action, argparse._StoreTrueAction) and not isinstance(value, bool):
            raise ConfigFileError(f"--config {path}: {key} is true or false, got {value!r}")
        elif action.type is not None and not isinstance(value, bool):
            value = _typed(action, key, value, path)
        defaults[action.dest] = value
        action.required = False
    parser.set_defaults(**defaults, config_file=str(path))
    return path


def _typed(action: argparse.Action, key: str, value: Any, path: Path) -> Any:
    """A value checked the way its flag is (``--n 0`` and ``n = 0`` give the same message)."""
    convert = action.type
    assert callable(convert)
    try:
        return convert(value if isinstance(value, str) else str(value))
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ConfigFileError(f"--config {path}: {key}: {exc}") from None
