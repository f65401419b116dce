"""Checks of `mcp/`: the SDK-style import, the FastMCP instance, each tool's name, description and schema,
tool modules that register nothing, and the served server's tool list against the imported one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from osmosis_local.checks.findings import Findings, ToolInfo
from osmosis_local.checks.places import exception_place, function_place, one_line, relative
from osmosis_local.checks.schema_checks import provider_problems, sdk_losses
from osmosis_local.checks.served_tools import ServedTools, serving
from osmosis_local.content.source_scan import ParsedModule, parse_module

__all__ = ["check_mcp", "SDK_TOOL_NAME"]

#: The SDK fails a row whose tool name does not match this (providers allow `-` too, and 64 characters).
SDK_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _source_files(mcp_dir: Path) -> list[Path]:
    skip = {"__pycache__", ".venv", "tests", "test"}
    return sorted(p for p in mcp_dir.rglob("*.py") if not skip & set(p.relative_to(mcp_dir).parts[:-1]))


def check_mcp(
    repo: Path,
    findings: Findings,
    *,
    serve: bool = True,
    import_step: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> list[ToolInfo]:
    """Run every mcp/ check; returns the tools of the imported instance. ``import_step`` wraps the import of
    ``main.py`` (the user code: the caller's watchdog puts a deadline on it, not on the checks after it)."""
    mcp_dir = repo / "mcp"
    if not mcp_dir.is_dir():
        findings.warning(
            "mcp-missing",
            "no mcp/ folder: the policy gets no tools",
            "add mcp/main.py with a FastMCP instance, or ignore this for a tool-less task",
        )
        return []
    if (mcp_dir / "__init__.py").exists():
        findings.error(
            "mcp-init-file",
            "mcp/__init__.py makes this folder the package `mcp`, which shadows the "
            "MCP SDK (`import mcp` finds your folder, and fastmcp fails to import)",
            "delete mcp/__init__.py; main.py imports its siblings without it",
            "mcp/__init__.py",
        )
    if not (mcp_dir / "main.py").is_file():
        findings.error(
            "mcp-no-main",
            "mcp/ has no main.py, the file the platform imports",
            "add mcp/main.py that creates `mcp = FastMCP(...)` and imports the tool modules",
            "mcp",
        )
        return []
    parsed = {path: parse_module(path) for path in _source_files(mcp_dir)}
    for path, module in parsed.items():
        if module.syntax_error is not None:
            error = module.syntax_error
            findings.error(
                "python-syntax",
                f"syntax error: {error.msg}",
                "fix the syntax; nothing in mcp/ can load",
                relative(path, repo),
                error.lineno,
            )
    _check_lazy_sibling_imports(repo, mcp_dir, parsed, findings)
    main = parsed.get(mcp_dir / "main.py")
    if main is not None and main.run_at_import is not None:
        findings.error(
            "mcp-run-at-import",
            "main.py starts the server when it is imported: the platform's import would never return",
            'move the run call under `if __name__ == "__main__":`',
            "mcp/main.py",
            main.run_at_import,
        )
        return []
    with contextlib.ExitStack() as stack:
        # The served server starts first and boots while the import and the static checks run.
        port = main.fixed_port if main is not None else None
        collect = stack.enter_context(serving(mcp_dir, fixed_port=port)) if serve else None
        with import_step():
            tools = _imported_tools(repo, findings)
        if tools is None:
            return []
        infos = [_check_tool(tool, repo, findings) for tool in tools]
        _check_tool_modules(repo, mcp_dir, parsed, tools, findings)
        if collect is not None:
            _check_served(mcp_dir, tools, collect(), findings)
    return infos


def _sibling_names(mcp_dir: Path) -> set[str]:
    """Top-level module names mcp/ provides (`server`, `tools`, `calc`, ...)."""
    names = {p.stem for p in mcp_dir.glob("*.py")} | {
        p.name for p in mcp_dir.iterdir() if (p / "__init__.py").is_file()
    }
    return names - {"main"}


def _check_lazy_sibling_imports(
    repo: Path, mcp_dir: Path, parsed: dict[Path, ParsedModule], findings: Findings
) -> None:
    """The SDK evicts mcp/'s modules from sys.modules and takes mcp/ off sys.path after loading main.py, so an
    import of a sibling inside a function (run at call time) fails there with ModuleNotFoundError."""
    siblings = _sibling_names(mcp_dir)
    for path, module in parsed.items():
        for name, line in module.lazy_imports:
            if name in siblings:
                findings.warning(
                    "sdk-lazy-sibling-import",
                    f"`import {name}` inside a function runs when the tool is called; under the platform's SDK, "
                    "which forgets mcp/'s modules after loading main.py, it fails with ModuleNotFoundError",
                    f"import {name} at the top of the module instead",
                    relative(path, repo),
                    line,
                )


def _check_sdk_instance_pick(repo: Path, server: Any, findings: Findings) -> None:
    """The SDK serves the first FastMCP attribute of main.py in alphabetical order; it must be ours."""
    import sys

    from fastmcp import FastMCP

    from osmosis_local.content.mcp_loader import package_name_for

    module = sys.modules.get(f"{package_name_for(repo / 'mcp')}.main")
    if module is None:
        return
    first = next((name for name in sorted(dir(module)) if isinstance(getattr(module, name), FastMCP)), None)
    if first is not None and getattr(module, first) is not server:
        findings.error(
            "mcp-sdk-picks-other-instance",
            f"main.py holds several FastMCP instances; the platform's SDK serves `{first}` (the alphabetically "
            f"first), not `mcp` ({server.name!r})",
            f"remove `{first}` from main.py's globals, or rename it so that it sorts after `mcp`",
            "mcp/main.py",
        )


def _imported_tools(repo: Path, findings: Findings) -> list[Any] | None:
    from osmosis_local.content.mcp_loader import McpLoadError, load_mcp_server

    # The check reports bad tool names itself; the MCP SDK's own warning would only repeat it on stderr.
    logging.getLogger("mcp.shared.tool_name_validation").setLevel(logging.ERROR)
    try:
        server = load_mcp_server(repo / "mcp")
    except McpLoadError as exc:
        file, line = exception_place(exc, repo)
        cause = exc.__cause__
        message = one_line(cause) if cause is not None else str(exc)
        several = cause is None and "Several FastMCP instances" in str(exc)
        code = "mcp-import-error" if cause is not None else "mcp-several-instances" if several else "mcp-no-instance"
        if cause is not None:
            hint = "fix the error at this line: the platform imports mcp/main.py the same way"
        elif several:
            hint = "keep one instance (name it `mcp`): the platform's SDK silently takes the alphabetically first"
        else:
            hint = 'define exactly one `mcp = FastMCP("name")` at module level in main.py (or import it)'

        findings.error(code, f"importing mcp/main.py failed: {message}", hint, file or "mcp/main.py", line)
        return None
    _check_sdk_instance_pick(repo, server, findings)
    try:
        return list(asyncio.run(server.list_tools()))
    except Exception as exc:  # noqa: BLE001 - a tool whose schema cannot be built
        file, line = exception_place(exc, repo)
        findings.error(
            "mcp-list-tools-error",
            f"listing the tools failed: {one_line(exc)}",
            "a tool's signature cannot be turned into a JSON schema; fix its type hints",
            file,
            line,
        )
        return None


def _check_tool(tool: Any, repo: Path, findings: Findings) -> ToolInfo:
    name = str(tool.name)
    file, line = function_place(getattr(tool, "fn", None), repo)
    params: dict[str, Any] = dict(getattr(tool, "parameters", None) or {})
    if not SDK_TOOL_NAME.match(name):
        findings.error(
            "tool-bad-name",
            f"tool name {name[:80]!r} is not valid: the SDK fails every row "
            "(letters, digits and _, not starting with a digit, at most 64)",
            "rename the function or pass name='...' to @mcp.tool",
            file,
            line,
        )
    if not (tool.description or "").strip():
        findings.error(
            "tool-no-description",
            f"tool '{name}' has no description: the model sees only 'Tool: {name}'",
            "add a docstring saying what the tool does and returns",
            file,
            line,
        )
    param_lines = _param_lines(getattr(tool, "fn", None))
    properties = params.get("properties") or {}
    for pname, schema in properties.items():
        pline = param_lines.get(pname, line)
        if not isinstance(schema, dict):
            continue
        resolved = _first_branch(schema, params)
        if not (resolved.get("type") or schema.get("type") or resolved.get("enum") or resolved.get("$ref")):
            findings.error(
                "param-no-type",
                f"parameter '{pname}' of tool '{name}' has no type: the SDK sends it as a string",
                f"annotate it, e.g. {pname}: float",
                file,
                pline,
            )
        if not (schema.get("description") or resolved.get("description")):
            findings.error(
                "param-no-description",
                f"parameter '{pname}' of tool '{name}' has no description",
                f'write it as {pname}: Annotated[<type>, Field(description="...")]',
                file,
                pline,
            )
    for problem in provider_problems(params):
        findings.add(
            problem.severity,
            problem.code,
            f"tool '{name}': {problem.message}",
            problem.hint,
            file,
            param_lines.get(problem.path.split(".")[0].removesuffix("[]"), line),
        )
    for pname, lost in sdk_losses(params).items():
        findings.warning(
            "sdk-lossy-schema",
            f"tool '{name}', parameter '{pname}': the SDK's conversion drops " + "; ".join(lost),
            "say it in the parameter's description (the model then still knows), or simplify the type",
            file,
            param_lines.get(pname, line),
        )
    return ToolInfo(name=name, file=file, line=line)


def _first_branch(schema: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    from osmosis_local.checks.schema_checks import resolve

    defs = {**(params.get("$defs") or {}), **(params.get("definitions") or {})}
    schema = resolve(schema, defs)
    for member in schema.get("anyOf") or schema.get("oneOf") or []:
        member = resolve(member, defs)
        if isinstance(member, dict) and member.get("type") != "null":
            return member
    return schema


def _param_lines(fn: Any) -> dict[str, int]:
    import ast
    import inspect
    import textwrap

    if fn is None:
        return {}
    try:
        target = inspect.unwrap(fn)
        lines, start = inspect.getsourcelines(target)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (TypeError, OSError, SyntaxError, ValueError):
        return {}
    node = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if node is None:
        return {}
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return {a.arg: start + a.lineno - 1 for a in args}


def _check_tool_modules(
    repo: Path, mcp_dir: Path, parsed: dict[Path, ParsedModule], tools: list[Any], findings: Findings
) -> None:
    registered = {function_place(getattr(tool, "fn", None), repo) for tool in tools}
    tools_dir = mcp_dir / "tools"
    places: dict[str, list[tuple[str, int]]] = {}
    for path, module in parsed.items():
        file = relative(path, repo) or str(path)
        for fn in module.tools():
            places.setdefault(fn.registers_as or fn.name, []).append((file, fn.decorator_line))
    duplicated = {name: where for name, where in places.items() if len(where) > 1}
    for name, where in duplicated.items():
        listing = ", ".join(f"{file}:{line}" for file, line in where)
        findings.error(
            "tool-name-duplicate",
            f"{len(where)} tools are named '{name}' ({listing}): the server keeps one and drops the others",
            "give each tool its own name (rename the function, or pass name=... to @mcp.tool)",
            where[-1][0],
            where[-1][1],
        )
    for path, module in parsed.items():
        rel = relative(path, repo)
        for fn in module.tools():
            if (fn.registers_as or fn.name) in duplicated:
                continue
            if (rel, fn.line) not in registered:
                findings.warning(
                    "tool-not-registered",
                    f"'{fn.name}' is decorated as a tool but the imported server does not have it (main.py "
                    "does not import its module, or it is defined under the `__main__` guard)",
                    "import the module from main.py (or from tools/__init__.py)",
                    rel,
                    fn.decorator_line,
                )
        in_tools = tools_dir in path.parents and not path.name.startswith("_")
        if in_tools and module.syntax_error is None and not module.registers_tools:
            findings.warning(
                "tool-module-empty",
                f"{path.name} is a tool module but defines no tool",
                "decorate its functions with @mcp.tool, or prefix the file with _ if it is a helper",
                rel,
                1,
            )


def _check_served(mcp_dir: Path, tools: list[Any], served: ServedTools, findings: Findings) -> None:
    parsed_main = parse_module(mcp_dir / "main.py")
    main = "mcp/main.py"
    if served.tools is None:
        if served.skipped:
            findings.warning(
                "mcp-serve-skipped",
                f"{served.problem}: the served tools were not compared",
                "free the port, or read it from the environment (FastMCP uses FASTMCP_PORT)",
                main,
            )
        elif served.exited_early and not parsed_main.has_main_block:
            findings.warning(
                "mcp-not-servable",
                "`python mcp/main.py` does not serve (no `if __name__ == "
                '"__main__":` block), so the tools cannot run in a container or with --mcp-url',
                'end main.py with: if __name__ == "__main__": mcp.run(transport="http")',
                main,
            )
        else:
            findings.error(
                "mcp-serve-failed",
                served.problem or "the served server did not answer",
                "run `python mcp/main.py` yourself and read its output",
                main,
            )
        return
    imported = {str(t.name): (t.description, dict(t.parameters or {})) for t in tools}
    missing, extra = sorted(set(imported) - set(served.tools)), sorted(set(served.tools) - set(imported))
    if missing or extra:
        findings.error(
            "mcp-served-differs",
            f"the served server lists other tools than the imported one "
            f"(only imported: {missing or 'none'}; only served: {extra or 'none'})",
            "register tools at import time, not inside the __main__ block",
            main,
        )
    for name in sorted(set(imported) & set(served.tools)):
        if imported[name] != served.tools[name]:
            findings.error(
                "mcp-served-schema-differs",
                f"tool '{name}' has another description or schema when served than when imported",
                "build the tool the same way in both cases",
                main,
            )
