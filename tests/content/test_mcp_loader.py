"""`--mcp DIR` loading (docs/contract.md §4 and weak spots 6-7).

Throwaway MCP dirs in tmp_path, real FastMCP clients.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path

import fastmcp
import pytest

from osmosis_local.content.mcp_loader import McpLoadError, load_mcp_server, package_name_for

REAL_MCP = Path(__file__).resolve().parents[2] / "mcp"


@pytest.fixture(autouse=True)
def _isolate_imports(tmp_path: Path):
    """Each test's content modules (`server`, `tools`, the synthetic package) and sys.path entries
    vanish after it; third-party modules imported meanwhile stay (re-importing those breaks them)."""
    modules = dict(sys.modules)
    path = list(sys.path)
    yield
    for name, module in list(sys.modules.items()):
        if name in modules:
            continue
        file = getattr(module, "__file__", None) or ""
        locations = [file, *list(getattr(module, "__path__", []) or [])]
        if name.startswith("_osmosis_mcp_") or any(
            loc and (loc.startswith(str(tmp_path)) or loc.startswith(str(REAL_MCP)))
            for loc in locations
        ):
            del sys.modules[name]
    for name, module in modules.items():
        sys.modules.setdefault(name, module)
    sys.path[:] = path


def make_dir(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# The shape of the real content repo: main.py + a `server` package + a `tools` package.
EXAMPLE = {
    "main.py": """
        from server import mcp
        from tools import *  # noqa: F401,F403
    """,
    "server/__init__.py": "from .mcp_server import mcp\n",
    "server/mcp_server.py": """
        from fastmcp import FastMCP
        mcp = FastMCP("Example")
    """,
    "tools/__init__.py": """
        from . import math_tools
        __all__ = ["math_tools"]
    """,
    "tools/math_tools.py": """
        from server import mcp

        @mcp.tool
        def add(a: float, b: float) -> float:
            '''Add two numbers.'''
            return a + b

        @mcp.tool
        def lazy_helper(x: int) -> int:
            '''Imports a sibling module only when called.'''
            import tools.helpers
            return tools.helpers.double(x)
    """,
    "tools/helpers.py": "def double(x):\n    return 2 * x\n",
}


async def _call(server, name: str, args: dict):
    async with fastmcp.Client(server) as client:
        names = [t.name for t in await client.list_tools()]
        result = await client.call_tool(name, args)
        return names, result.data


def test_loads_example_layout_and_tools_run(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "mcp", EXAMPLE)
    server = load_mcp_server(root)
    assert isinstance(server, fastmcp.FastMCP)
    names, value = asyncio.run(_call(server, "add", {"a": 1, "b": 2}))
    assert names == ["add", "lazy_helper"]
    assert value == 3


def test_lazy_sibling_import_inside_a_tool_works_after_loading(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "mcp", EXAMPLE)
    server = load_mcp_server(root)
    assert str(root) in sys.path and sys.path[0] != str(root)
    assert sys.path[-1] == str(root)
    _, value = asyncio.run(_call(server, "lazy_helper", {"x": 21}))
    assert value == 42


def test_relative_imports_work_inside_the_synthetic_package(tmp_path: Path) -> None:
    root = make_dir(
        tmp_path / "content",
        {
            "main.py": "from .app import mcp\nfrom . import extra_tools  # noqa: F401\n",
            "app.py": "from fastmcp import FastMCP\nmcp = FastMCP('Rel')\n",
            "extra_tools.py": """
                from .app import mcp

                @mcp.tool
                def neg(x: int) -> int:
                    return -x
            """,
        },
    )
    server = load_mcp_server(root)
    assert asyncio.run(_call(server, "neg", {"x": 4})) == (["neg"], -4)
    assert f"{package_name_for(root)}.main" in sys.modules


def test_a_clashing_sibling_name_already_imported_from_elsewhere_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_dir(tmp_path / "other", {"server/__init__.py": "mcp = 'not a server'\n"})
    for name in [n for n in sys.modules if n == "server" or n.startswith("server.")]:
        monkeypatch.delitem(sys.modules, name)  # an earlier test may have left the repo's own `server`
    monkeypatch.syspath_prepend(str(other))
    import server  # noqa: F401  (the wrong one, imported first)

    assert sys.modules["server"].mcp == "not a server"
    root = make_dir(tmp_path / "mcp", EXAMPLE)
    loaded = load_mcp_server(root)
    assert isinstance(loaded, fastmcp.FastMCP)
    assert Path(sys.modules["server"].__file__).parent.parent == root


def test_stdlib_and_installed_names_are_never_purged(tmp_path: Path) -> None:
    files = dict(EXAMPLE)
    files["json.py"] = "raise RuntimeError('content json.py must not replace the stdlib')\n"
    files["fastmcp/__init__.py"] = "raise RuntimeError('vendored copy must not be used')\n"
    real_json, real_fastmcp = sys.modules["json"], sys.modules["fastmcp"]
    load_mcp_server(make_dir(tmp_path / "mcp", files))
    assert sys.modules["json"] is real_json
    assert sys.modules["fastmcp"] is real_fastmcp


def test_loading_twice_builds_a_fresh_server(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "mcp", EXAMPLE)
    first = load_mcp_server(root)
    second = load_mcp_server(root)
    assert first is not second
    assert asyncio.run(_call(second, "add", {"a": 2, "b": 2}))[1] == 4


def test_two_directories_get_different_packages(tmp_path: Path) -> None:
    assert package_name_for(tmp_path / "a") != package_name_for(tmp_path / "b")
    assert package_name_for(tmp_path / "a").startswith("_osmosis_mcp_")
    assert len(package_name_for(tmp_path / "a")) == len("_osmosis_mcp_") + 8


@pytest.mark.parametrize(
    ("main", "expected_name"),
    [
        ("from fastmcp import FastMCP\nmcp = FastMCP('only')\n", "only"),
        ("from fastmcp import FastMCP\nserver = FastMCP('only')\nalias = server\n", "only"),
        ("from fastmcp import FastMCP\naaa = FastMCP('a')\nmcp = FastMCP('b')\n", "b"),
    ],
)
def test_instance_selection(tmp_path: Path, main: str, expected_name: str) -> None:
    server = load_mcp_server(make_dir(tmp_path / "d", {"main.py": main}))
    assert server.name == expected_name


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"main.py": "x = 1\n"}, r"No FastMCP instance found in .*main\.py; define `mcp = FastMCP\(\.\.\.\)`"),
        (
            {"main.py": "from fastmcp import FastMCP\nb = FastMCP('b')\na = FastMCP('a')\n"},
            r"Several FastMCP instances found in .*main\.py \(b, a\); name the one to serve `mcp`",
        ),
        ({"main.py": "raise ValueError('boom')\n"}, r"Error importing .*main\.py: ValueError: boom"),
        ({"main.py": "def broken(:\n"}, r"Error importing .*main\.py: SyntaxError: "),
        ({"main.py": "import sys\nsys.exit(3)\n"}, r"Error importing .*main\.py: SystemExit: 3"),
        (
            {"main.py": "import no_such_module_xyz\n"},
            r"Error importing .*main\.py: ModuleNotFoundError: No module named 'no_such_module_xyz'",
        ),
        ({"other.py": ""}, r"No main\.py in MCP directory .*; it must contain a main\.py"),
    ],
)
def test_load_errors(tmp_path: Path, files: dict, message: str) -> None:
    root = make_dir(tmp_path / "d", files)
    with pytest.raises(McpLoadError, match=message):
        load_mcp_server(root)
    assert str(root) not in sys.path
    assert not any(n.startswith(package_name_for(root)) for n in sys.modules)


def test_missing_fastmcp_names_the_install(tmp_path: Path, monkeypatch) -> None:
    root = make_dir(tmp_path / "mcp", EXAMPLE)
    monkeypatch.setitem(sys.modules, "fastmcp", None)  # makes `import fastmcp` raise ImportError
    with pytest.raises(McpLoadError, match=r"--mcp needs the fastmcp package.*pip install 'fastmcp>=2\.14'"):
        load_mcp_server(root)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(McpLoadError, match="MCP directory not found"):
        load_mcp_server(tmp_path / "missing")


def test_relative_directory_is_made_absolute(tmp_path: Path, monkeypatch) -> None:
    make_dir(tmp_path / "mcp", EXAMPLE)
    monkeypatch.chdir(tmp_path)
    server = load_mcp_server("mcp")
    assert isinstance(server, fastmcp.FastMCP)
    assert sys.path[-1] == str(tmp_path / "mcp")


def test_the_real_repository_mcp_directory() -> None:
    """The content repo's own mcp/ loads and exposes the eight calculator tools."""
    from osmosis_local.tools.runner import ToolRunner
    from osmosis_local.tools.schema import convert_tools

    async def run() -> tuple[set[str], str, list[str]]:
        async with ToolRunner(load_mcp_server(REAL_MCP)) as runner:
            names = {t.name for t in await runner.list_tools()}
            _, warnings = convert_tools(await runner.list_tools())
            outcome = await runner.call("add", json.dumps({"a": 0.1, "b": 0.2}), call_id="c1")
            return names, outcome.content, warnings

    names, content, warnings = asyncio.run(run())
    assert warnings == []
    assert names == {
        "add",
        "subtract",
        "multiply",
        "divide",
        "power",
        "square_root",
        "modulo",
        "round_number",
    }
    assert content == "0.3"
