"""Checks of ``rollout_server/`` (Remote Rollout), when the repository has one.

``rollout_server/server.py`` must import (run from its folder, as ``osmosis-local serve -m server:agent_loop``
and ``python -m server`` run it) and define ``agent_loop``; the loop must pass the SDK's validation (a name,
well-formed tools from ``get_tools``, an ``async run``); and every tool must convert to the SDK 0.2.17's narrow
shape, a trainer sees nothing else: what the conversion drops that a tool's description does not say is a
warning (the same rule as the ``mcp/`` check's ``sdk-lossy-schema``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from osmosis_local.checks.content_import import forget_imports_under
from osmosis_local.checks.findings import Findings
from osmosis_local.checks.places import exception_place
from osmosis_local.checks.schema_checks import sdk_losses

__all__ = ["check_rollout_server"]

SERVER = Path("rollout_server") / "server.py"
SPEC = "server:agent_loop"


@contextlib.contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)


def check_rollout_server(repo: Path, findings: Findings) -> str | None:
    """The agent loop's name, or None when there is no ``rollout_server/server.py`` (or it does not load)."""
    from osmosis_local.rollout.loading import AgentLoopLoadError, load_agent_loop, validate_agent_loop

    server = repo / SERVER
    if not server.is_file():
        return None
    saved_server = sys.modules.get("server")
    with forget_imports_under(repo), _in_folder(server.parent):
        try:
            loop = load_agent_loop(SPEC)
        except AgentLoopLoadError as exc:
            cause = exc.__context__ or exc
            file, line = exception_place(cause, repo) if cause is not exc else (str(SERVER), None)
            findings.error("rollout-loop-not-loaded", str(exc),
                           "rollout_server/server.py must import from its folder and define `agent_loop` (an "
                           "instance or a class of RolloutAgentLoop)", file or str(SERVER), line)  # fmt: skip
            return None
        finally:
            if saved_server is not None:
                sys.modules["server"] = saved_server
        report = validate_agent_loop(loop)
        for issue in report.issues:
            if issue.severity == "error":
                findings.error(f"rollout-{issue.code.lower().replace('_', '-')}", issue.message,
                               "the SDK refuses to serve this loop: fix it as the message says", str(SERVER))
        for spec in getattr(loop, "tool_specs", None) or []:
            function = spec.get("function", {})
            for parameter, lost in sdk_losses(function.get("parameters") or {}).items():
                findings.warning(
                    "rollout-lossy-tool",
                    f"tool '{function.get('name')}', parameter '{parameter}': the 0.2.17 tool shape a trainer "
                    "receives drops " + "; ".join(lost),
                    "say it in the parameter's description (the model then still knows), or simplify the type",
                    str(SERVER),
                )
        return report.name
