"""Find an agent loop by ``module:attribute`` (``-m server:agent_loop``) and check it before serving.

`load_agent_loop` imports the module with the current directory first on ``sys.path`` (as the SDK does) and
instantiates a class; every failure is an `AgentLoopLoadError` with one line to fix. `validate_agent_loop`
runs the SDK's checks (a ``name``; ``get_tools`` of a sample request returns well-formed tools; ``run`` is a
coroutine function) and says what ``check`` says too: which tool features the narrow 0.2.17 shape drops.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from osmosis_local.rollout.base import RolloutAgentLoop
from osmosis_local.rollout.schemas import OpenAIFunctionToolSchema, RolloutRequest

__all__ = ["AgentLoopLoadError", "ValidationIssue", "ValidationReport", "load_agent_loop", "validate_agent_loop"]

SAMPLE_REQUEST = RolloutRequest(
    rollout_id="validate-0",
    server_url="http://127.0.0.1:9/callback",
    messages=[{"role": "system", "content": "You are a validator."}, {"role": "user", "content": "What is 2 + 3?"}],
    completion_params={"temperature": 1.0, "max_tokens": 64},
    metadata={"ground_truth": "5", "row_index": 0, "execution_mode": "validate"},
)


class AgentLoopLoadError(Exception):
    """``-m MOD:ATTR`` cannot be turned into an agent loop; the message says why."""


def load_agent_loop(spec: str) -> RolloutAgentLoop:
    """The agent loop at ``module:attribute`` (a class is instantiated with no arguments)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise AgentLoopLoadError(f"-m {spec!r}: expected MODULE:ATTRIBUTE, e.g. server:agent_loop")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()
    _forget_shadow(module_name.split(".")[0], cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AgentLoopLoadError(
                f"-m {spec!r}: no module {module_name!r} in {cwd} (run from the folder that holds it, e.g. "
                "`cd rollout_server`)"
            ) from None
        raise AgentLoopLoadError(f"-m {spec!r}: importing {module_name!r} failed: {exc}") from None
    except (Exception, SystemExit) as exc:  # module-level code may raise anything
        detail = f"{type(exc).__name__}: {exc}"
        raise AgentLoopLoadError(f"-m {spec!r}: importing {module_name!r} failed: {detail}") from None
    if not hasattr(module, attr):
        raise AgentLoopLoadError(f"-m {spec!r}: module {module_name!r} has no attribute {attr!r}")
    value = getattr(module, attr)
    if inspect.isclass(value):
        try:
            value = value()
        except Exception as exc:  # noqa: BLE001 - the loop's own constructor
            raise AgentLoopLoadError(f"-m {spec!r}: {attr}() failed: {type(exc).__name__}: {exc}") from None
    if not (hasattr(value, "get_tools") and hasattr(value, "run")):
        raise AgentLoopLoadError(
            f"-m {spec!r} is a {type(value).__name__}, not an agent loop (a RolloutAgentLoop with get_tools and run)"
        )
    return value  # duck-typed: a loop written for the original SDK qualifies


def _forget_shadow(top: str, cwd: str) -> None:
    """If the current directory provides ``top`` but ``sys.modules`` holds another module of that name (e.g. the
    ``server`` package of ``mcp/``, loaded by an earlier ``--mcp`` run in this process), forget the other one."""
    found = importlib.machinery.PathFinder.find_spec(top, [cwd])
    loaded = sys.modules.get(top)
    if found is None or found.origin is None or loaded is None:
        return
    origin = getattr(loaded, "__file__", None)
    if origin is not None and os.path.abspath(origin) == os.path.abspath(found.origin):
        return
    for name in [n for n in list(sys.modules) if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


@dataclass(frozen=True)
class ValidationIssue:
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"


@dataclass
class ValidationReport:
    name: str | None
    tools: list[OpenAIFunctionToolSchema] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


def validate_agent_loop(loop: Any, request: RolloutRequest = SAMPLE_REQUEST) -> ValidationReport:
    """The SDK's checks (codes: MISSING_NAME, GET_TOOLS_FAILED, INVALID_TOOLS_TYPE, INVALID_TOOL_TYPE,
    INVALID_TOOL, DUPLICATE_TOOL_NAME, RUN_NOT_ASYNC)."""
    name = getattr(loop, "name", None)
    report = ValidationReport(name=name if isinstance(name, str) else None)
    if not isinstance(name, str) or not name.strip():
        report.issues.append(ValidationIssue("MISSING_NAME", "the agent loop has no `name` (a non-empty string)"))
    run = getattr(loop, "run", None)
    if run is None or not inspect.iscoroutinefunction(run):
        report.issues.append(ValidationIssue("RUN_NOT_ASYNC", "`run` must be `async def run(self, ctx)`"))
    try:
        tools = loop.get_tools(request)
    except Exception as exc:  # noqa: BLE001 - user code
        report.issues.append(ValidationIssue("GET_TOOLS_FAILED", f"get_tools raised {type(exc).__name__}: {exc}"))
        return report
    if not isinstance(tools, list):
        kind = type(tools).__name__
        report.issues.append(ValidationIssue("INVALID_TOOLS_TYPE", f"get_tools returned {kind}, not a list"))
        return report
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        try:
            data = tool.model_dump() if hasattr(tool, "model_dump") else tool
            parsed = OpenAIFunctionToolSchema.model_validate(data)
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, or a broken model_dump
            report.issues.append(ValidationIssue("INVALID_TOOL", f"tool {index}: {' '.join(str(exc).split())[:300]}"))
            continue
        if parsed.type != "function":
            problem = f"tool {index}: type {parsed.type!r} (must be 'function')"
            report.issues.append(ValidationIssue("INVALID_TOOL_TYPE", problem))
        if parsed.function.name in seen:
            problem = f"two tools are named {parsed.function.name!r}"
            report.issues.append(ValidationIssue("DUPLICATE_TOOL_NAME", problem))
        seen.add(parsed.function.name)
        report.tools.append(parsed)
    losses = getattr(loop, "tool_losses", None)
    if callable(losses):
        for line in losses():
            report.issues.append(ValidationIssue("TOOL_SCHEMA_NARROWED", line, "warning"))
    return report
