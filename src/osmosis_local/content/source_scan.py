"""Read content files without importing them: decorated functions, tool definitions, string constants.

A sync service discovers `@osmosis_reward` / `@osmosis_rubric` functions by the decorator's name in the
source, so a module that fails to import is still reported with its functions and their lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ParsedModule", "DecoratedFunction", "parse_module", "module_name", "tool_names"]

SCORER_DECORATORS = frozenset({"osmosis_reward", "osmosis_rubric"})


@dataclass(frozen=True)
class DecoratedFunction:
    """A function definition carrying a decorator we look for."""

    name: str
    decorator: str  # "osmosis_reward", "osmosis_rubric" or "tool"
    line: int  # the `def` line
    decorator_line: int
    called: bool  # `@osmosis_reward()` rather than `@osmosis_reward`
    params: tuple[str, ...]
    param_lines: dict[str, int] = field(default_factory=dict)
    registers_as: str | None = None  # a tool's name on the server: `name="..."` of the decorator, else `name`


@dataclass
class ParsedModule:
    """What the AST of one file says."""

    path: Path
    syntax_error: SyntaxError | None = None
    functions: list[DecoratedFunction] = field(default_factory=list)
    registers_tools: bool = False  # `@x.tool`, `x.tool(fn)` or `x.add_tool(...)` anywhere
    strings: set[str] = field(default_factory=set)  # every string constant
    future_annotations: bool = False
    has_main_block: bool = False  # `if __name__ == "__main__":` at module level
    run_at_import: int | None = None  # line of a module-level `<x>.run(...)` call (it would serve on import)
    lazy_imports: list[tuple[str, int]] = field(default_factory=list)  # (top-level module, line) inside functions
    fixed_port: int | None = None  # `port=8080` written into a `.run(...)` call under the `__main__` guard

    def scorers(self) -> list[DecoratedFunction]:
        """The `@osmosis_reward` / `@osmosis_rubric` functions, in file order."""
        return [f for f in self.functions if f.decorator in SCORER_DECORATORS]

    def tools(self) -> list[DecoratedFunction]:
        """The functions decorated with `@<server>.tool`."""
        return [f for f in self.functions if f.decorator == "tool"]


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of `path` relative to `root` (`reward_fn/x.py` -> `reward_fn.x`)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _decorator_name(node: ast.expr) -> tuple[str | None, bool]:
    """(last dotted name of a decorator, whether it is called)."""
    called = isinstance(node, ast.Call)
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id, called
    if isinstance(target, ast.Attribute):
        return target.attr, called
    return None, called


def _is_tool_decorator(node: ast.expr) -> bool:
    """`@mcp.tool`, `@server.tool(...)`: an attribute named `tool` (a bare `@tool` is too ambiguous)."""
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr == "tool"


def _tool_name(decorator: ast.expr, function: str) -> str:
    """The name `@mcp.tool(name="x")` registers a tool under (the function's name without a literal one)."""
    if isinstance(decorator, ast.Call):
        given = [k.value for k in decorator.keywords if k.arg == "name"] + decorator.args[:1]  # `@mcp.tool("x")`
        for value in given:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return function


def tool_names(folder: Path) -> dict[str, list[tuple[Path, int]]]:
    """Every tool the ``.py`` files under ``folder`` define with a decorator: name -> [(file, line)]."""
    found: dict[str, list[tuple[Path, int]]] = {}
    for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
        for fn in parse_module(path).tools():
            found.setdefault(fn.registers_as or fn.name, []).append((path, fn.decorator_line))
    return found


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[tuple[str, ...], dict[str, int]]:
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return tuple(a.arg for a in args), {a.arg: a.lineno for a in args}


def _is_run_call(node: ast.stmt) -> bool:
    """`mcp.run(...)` as a statement of its own at module level."""
    call = node.value if isinstance(node, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run"


def _run_ports(guard: ast.stmt) -> list[int]:
    """Literal `port=` values of `.run(...)` calls inside a block."""
    ports = []
    for node in ast.walk(guard):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "port" and isinstance(value, ast.Constant) and isinstance(value.value, int):
                    ports.append(value.value)
    return ports


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    values = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def parse_module(path: Path) -> ParsedModule:
    """Parse one file; a syntax error is recorded, not raised."""
    parsed = ParsedModule(path=path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        parsed.syntax_error = exc
        return parsed
    except (UnicodeDecodeError, OSError) as exc:
        parsed.syntax_error = SyntaxError(f"cannot read the file: {exc}")
        return parsed
    parsed.has_main_block = any(_is_main_guard(node) for node in tree.body)
    parsed.run_at_import = next((node.lineno for node in tree.body if _is_run_call(node)), None)
    parsed.fixed_port = next((port for node in tree.body if _is_main_guard(node) for port in _run_ports(node)), None)
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(function):
                if isinstance(inner, ast.Import):
                    parsed.lazy_imports += [(alias.name.split(".")[0], inner.lineno) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom) and inner.module and not inner.level:
                    parsed.lazy_imports.append((inner.module.split(".")[0], inner.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parsed.strings.add(node.value)
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            parsed.future_annotations |= any(alias.name == "annotations" for alias in node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("add_tool",) or (node.func.attr == "tool" and node.args):
                parsed.registers_tools = True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params, lines = _params(node)
            for decorator in node.decorator_list:
                name, called = _decorator_name(decorator)
                kind = "tool" if _is_tool_decorator(decorator) else name if name in SCORER_DECORATORS else None
                if kind is None:
                    continue
                parsed.functions.append(
                    DecoratedFunction(node.name, kind, node.lineno, decorator.lineno, called, params, lines,
                                      _tool_name(decorator, node.name) if kind == "tool" else None)
                )  # fmt: skip
                if kind == "tool":
                    parsed.registers_tools = True
    parsed.functions.sort(key=lambda f: f.line)
    return parsed
