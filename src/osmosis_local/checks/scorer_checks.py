"""Checks of `reward_fn/` and `reward_rubric/`: decorated functions found in the source and by importing,
the original SDK's strict signature rules, import failures with their cause, and unnamed judge keys."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from osmosis_local.checks.findings import Findings, ScorerInfo
from osmosis_local.checks.places import exception_place, one_line, relative
from osmosis_local.checks.sdk_rules import sdk_reward_problem, sdk_rubric_problem
from osmosis_local.content.source_scan import DecoratedFunction, ParsedModule, module_name, parse_module

__all__ = ["LoadedScorer", "check_scorers", "scorer_mode"]

_SIGNATURES = {
    "osmosis_reward": "def NAME(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float",
    "osmosis_rubric": "def NAME(solution_str: str, ground_truth: str | None, extra_info: dict, **kwargs) -> float",
}
_KEY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*(?:API_KEY|_KEY|_TOKEN)$")
_DOC_FILES = ("README.md", ".env.example", ".env.sample", "docs")


@dataclass(frozen=True)
class LoadedScorer:
    """An imported scorer, for the dataset self-check and the probes."""

    info: ScorerInfo
    fn: Callable[..., Any]


def _decorator(found: DecoratedFunction) -> Literal["osmosis_reward", "osmosis_rubric"]:
    """The scorer decorator a found function carries (the scan only reports scorers here)."""
    return "osmosis_rubric" if found.decorator == "osmosis_rubric" else "osmosis_reward"

def scorer_mode(fn: Callable[..., Any]) -> Literal["simple", "full", "other"]:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return "other"
    first = params[0] if params else ""
    return "simple" if first == "solution_str" else "full" if first == "messages" else "other"


def check_scorers(repo: Path, folder: str, findings: Findings) -> tuple[list[LoadedScorer], list[ScorerInfo]]:
    """Check every module of `repo/folder`: the scorers that imported, and every one found in the source."""
    root = repo / folder
    if not root.is_dir():
        return [], []
    loaded: list[LoadedScorer] = []
    infos: list[ScorerInfo] = []
    for path in sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts):
        parsed = parse_module(path)
        rel = relative(path, repo) or str(path)
        if parsed.syntax_error is not None:
            error = parsed.syntax_error
            names = ", ".join(f.name for f in parsed.scorers()) or "its functions"
            findings.error(
                "python-syntax", f"syntax error: {error.msg} ({names} cannot load)", "fix the syntax", rel, error.lineno
            )
            continue
        scorers = parsed.scorers()
        if not scorers:
            continue
        module = _import(repo, path, parsed, findings)
        for found in scorers:
            checked = _check_function(rel, module, parsed, found, findings) if module is not None else None
            if checked is not None:
                loaded.append(checked)
                infos.append(checked.info)
            else:
                spec = f"{module_name(path, repo)}:{found.name}"
                infos.append(
                    ScorerInfo(spec=spec, decorator=_decorator(found), file=rel, line=found.line, imported=False)
                )
        if module is not None and folder == "reward_rubric":
            _check_key_names(repo, parsed, rel, findings)
    return loaded, infos


def _import(repo: Path, path: Path, parsed: ParsedModule, findings: Findings) -> Any:
    name = module_name(path, repo)
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - module code may raise anything
        file, line = exception_place(exc, repo)
        names = ", ".join(f.name for f in parsed.scorers())
        called = [f for f in parsed.scorers() if f.called]
        if called:
            hint = f"write @{called[0].decorator} with no parentheses (line {called[0].decorator_line})"
        elif isinstance(exc, TypeError) and "@osmosis_" in str(exc):
            hint = "fix the signature as the message says"
        else:
            hint = "fix the error at this line; the platform imports the module the same way"
        findings.error(
            "module-import-error",
            f"importing {name} failed, so {names} cannot be used: {one_line(exc)}",
            hint,
            file or relative(path, repo),
            line,
        )
        return None


def _check_function(rel: str, module: Any, parsed: ParsedModule, found: Any, findings: Findings) -> LoadedScorer | None:
    spec = f"{module.__name__}:{found.name}"
    fn = getattr(module, found.name, None)
    expected = _SIGNATURES[found.decorator].replace("NAME", found.name)
    if fn is None or not callable(fn):
        findings.error(
            "scorer-not-found",
            f"{found.name} is decorated but the imported module has no such callable (redefined or deleted later?)",
            "keep one definition per name",
            rel,
            found.line,
        )
        return None
    original = inspect.unwrap(fn)
    mode = scorer_mode(fn)
    check = sdk_reward_problem if found.decorator == "osmosis_reward" else sdk_rubric_problem
    problem = check(original)
    if problem is not None:
        findings.error(
            "sdk-rejects-signature",
            f"{found.name}: the platform's SDK rejects this signature ({problem}); the local decorator is more lenient",
            f"use exactly `{expected}`"
            + (" and remove `from __future__ import annotations`" if parsed.future_annotations else ""),
            rel,
            found.line,
        )
    if mode == "other":
        findings.warning(
            "scorer-not-classic",
            f"{found.name}: first parameter is neither solution_str nor messages, "
            "so the SDK checks nothing and the harness cannot call it",
            f"use `{expected}`",
            rel,
            found.line,
        )
    info = ScorerInfo(spec=spec, decorator=_decorator(found), file=rel, line=found.line, imported=True, mode=mode)
    return LoadedScorer(info=info, fn=fn)


def _named_anywhere(repo: Path, names: set[str]) -> bool:
    texts: list[str] = []
    for entry in _DOC_FILES:
        path = repo / entry
        files = sorted(path.rglob("*.md")) if path.is_dir() else [path] if path.is_file() else []
        texts.extend(f.read_text(encoding="utf-8", errors="replace") for f in files)
    texts.extend(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted((repo / "reward_rubric").rglob("*.py"))
    )
    return any(name in text for name in names for text in texts)


def _check_key_names(repo: Path, parsed: ParsedModule, rel: str, findings: Findings) -> None:
    from osmosis_local.rubric.keys import DEFAULT_API_KEY_ENV
    from osmosis_local.rubric.keys import PROVIDER_KEY_VARIABLES as PROVIDER_KEY_ENV

    providers = sorted(p for p in parsed.strings if p in DEFAULT_API_KEY_ENV)
    own_names = {s for s in parsed.strings if _KEY_NAME.match(s)}
    # A provider the judge knows no key variable for: without a named variable (or an endpoint of its own),
    # every judge call raises MissingAPIKeyError.
    keyless = sorted(p for p in parsed.strings if p in PROVIDER_KEY_ENV and p not in DEFAULT_API_KEY_ENV)
    if keyless and not own_names and "base_url" not in parsed.strings:
        line = parsed.scorers()[0].line if parsed.scorers() else 1
        for provider in keyless:
            findings.error(
                "rubric-key-unresolvable",
                f"the {provider} judge has no default key variable and this module names none: every judge call "
                "will raise MissingAPIKeyError",
                f"set model_info['api_key_env'] = \"{PROVIDER_KEY_ENV[provider]}\" (and say so in the README)",
                rel,
                line,
            )
    for provider in providers:
        variable = DEFAULT_API_KEY_ENV[provider]
        if own_names or _named_anywhere(repo, {variable}):
            continue
        line = parsed.scorers()[0].line if parsed.scorers() else 1
        findings.warning(
            "rubric-key-unnamed",
            f"the {provider} judge needs {variable} at run time, and no file names it",
            f"set model_info['api_key_env'] = \"{variable}\" and say so in the README",
            rel,
            line,
        )
