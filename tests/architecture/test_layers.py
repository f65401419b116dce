"""The harness's shape, checked: layers import only the layers below them, no module imports another in a
cycle, at most ten modules sit at the top of the package, and docs/architecture.md names every module.

Imports are read from the source (``ast``), including those inside functions: a lazy import ties two
modules together just the same.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from helpers import REPO

PACKAGE = REPO / "src" / "osmosis_local"
# Every layer may import these.
FOUNDATION = {"__init__", "_env", "errors", "types", "redaction", "safe_text", "user_code", "prices"}

# What each layer may import besides the foundation (docs/architecture.md draws the same picture).
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "content": {"config"},
    "tools": set(),
    "local_model": set(),
    "testing": set(),
    "llm": {"config", "local_model"},
    "rubric": {"llm", "local_model"},
    "log": {"config"},
    "reports": {"log", "config"},
    "rollout": {"config", "content", "tools", "llm"},
    "runner": {"config", "content", "tools", "llm", "rubric", "log", "rollout"},
    "checks": {"config", "content", "tools", "rubric", "rollout"},
    "api": {"config", "log", "runner"},
    "cli": {
        "config",
        "content",
        "tools",
        "llm",
        "local_model",
        "rubric",
        "log",
        "reports",
        "runner",
        "checks",
        "testing",
        "rollout",
    },  # fmt: skip
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports (a from-import naming a symbol counts as its module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


GRAPH = {module: _imports(path, _modules()) - {module} for module, path in _modules().items()}


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) != _layer(module)
        and _layer(target) not in FOUNDATION
        and _layer(target) not in ALLOWED.get(_layer(module), set())
    )
    assert not wrong, "\n".join(wrong)


def test_the_foundation_imports_no_layer() -> None:
    wrong = [f"{m} imports {t}" for m, ts in GRAPH.items() if _layer(m) in FOUNDATION for t in ts
             if _layer(t) not in FOUNDATION]  # fmt: skip
    assert not wrong, wrong


def test_every_layer_is_known() -> None:
    layers = {_layer(m) for m in GRAPH}
    assert layers - FOUNDATION == set(ALLOWED), "a new subpackage needs its place in ALLOWED and the docs"


def test_no_import_cycles() -> None:
    # a package's __init__ re-exporting its own submodules is not a cycle of design
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, cycles


def test_at_most_ten_modules_at_the_top_of_the_package() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 10, top


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "osmosis_local"))
def test_the_architecture_doc_names_every_module(module: str) -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    path = module.removeprefix("osmosis_local.").replace(".", "/")
    is_package = (PACKAGE / path / "__init__.py").exists()
    shown = f"{path}/" if is_package else f"{path}.py"
    assert re.search(rf"`{re.escape(shown)}`", doc), f"docs/architecture.md does not name `{shown}`"
