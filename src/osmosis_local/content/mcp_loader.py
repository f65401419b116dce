"""Import `DIR/main.py` and find its FastMCP instance (docs/contract.md §4, "Loading").

`main.py` runs as `<pkg>.main` inside a synthetic package `_osmosis_mcp_<sha256(absdir)[:8]>` whose
`__path__` is `[DIR]`, so both relative imports (`from .server import mcp`) and, with `DIR` on
`sys.path`, absolute sibling imports (`from server import mcp`, `from tools import *`) work.

Differences from the SDK (docs/contract.md, weak spots 6-7), and why:
- Sibling modules are *not* evicted after the import and `DIR` stays on `sys.path` (moved from the
  front to the end), so a tool that does `import tools.helpers` lazily inside its body still works.
- Shadowing: if a top-level name that `DIR` provides (e.g. `server`, `tools`) is already in
  `sys.modules` (from elsewhere, or from an earlier load of the same `DIR`), that entry and its
  submodules are purged before the import, so `main.py` gets a fresh `DIR` one and every load
  builds a fresh server. Standard-library names and modules installed in site-packages are
  never purged (a content file named `json.py` must not replace the real `json` for the harness).
  The purged modules stay out of `sys.modules`; code that already holds them is unaffected.
- Several distinct FastMCP instances: the attribute named `mcp` wins, otherwise it is an error
  listing them (the reference silently took the alphabetically first).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import site
import sys
import sysconfig
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from fastmcp import FastMCP

__all__ = ["McpLoadError", "load_mcp_server", "package_name_for"]


class McpLoadError(Exception):
    """The MCP directory can't be turned into a FastMCP server; the message says how to fix it."""


def package_name_for(directory: str | os.PathLike[str]) -> str:
    """Name of the synthetic package that holds `directory`'s modules."""
    absdir = os.path.abspath(os.fspath(directory))
    return "_osmosis_mcp_" + hashlib.sha256(absdir.encode("utf-8")).hexdigest()[:8]


def load_mcp_server(directory: str | os.PathLike[str]) -> FastMCP:
    """Import `directory/main.py` and return the FastMCP instance it defines.

    Raises `McpLoadError` for a missing directory/main.py, a missing fastmcp, an exception while
    importing (message "Error importing <path>: <Type>: <exc>"), or no / ambiguous instances.
    """
    absdir = os.path.abspath(os.fspath(directory))
    main_path = os.path.join(absdir, "main.py")
    if os.path.isfile(absdir):
        raise McpLoadError(
            f"--mcp takes the folder that holds main.py, not a file: pass {os.path.dirname(absdir)}"
            if os.path.basename(absdir) == "main.py"
            else f"--mcp takes a folder with a main.py in it, and {absdir} is a file"
        )
    if not os.path.isdir(absdir):
        raise McpLoadError(f"MCP directory not found: {absdir}")
    if not os.path.isfile(main_path):
        raise McpLoadError(
            f"No main.py in MCP directory {absdir}; it must contain a main.py that defines "
            "`mcp = FastMCP(...)`"
        )
    try:
        from fastmcp import FastMCP
    except ImportError as exc:
        raise McpLoadError(
            f"--mcp needs the fastmcp package, which could not be imported ({exc}). "
            "Install it with: pip install 'fastmcp>=2.14'"
        ) from None

    pkg_name = package_name_for(absdir)
    _purge(lambda name: name == pkg_name or name.startswith(pkg_name + "."))
    _purge_shadowing_siblings(absdir)

    pkg = types.ModuleType(pkg_name, f"Synthetic package for the MCP directory {absdir}")
    pkg.__path__ = [absdir]
    pkg.__package__ = pkg_name
    pkg.__file__ = None
    sys.modules[pkg_name] = pkg

    _remove_from_path(absdir)
    sys.path.insert(0, absdir)  # front during the import, so DIR's siblings win
    try:
        module = importlib.import_module(f"{pkg_name}.main")
        server = _find_instance(module, main_path, FastMCP)
    except McpLoadError:
        _undo(pkg_name, absdir)
        raise
    except (Exception, SystemExit) as exc:  # SystemExit: a main.py that calls sys.exit()
        _undo(pkg_name, absdir)
        raise McpLoadError(f"Error importing {main_path}: {type(exc).__name__}: {exc}") from exc
    _remove_from_path(absdir)
    sys.path.append(absdir)  # stays reachable for lazy imports, without shadowing anything
    return server


def _undo(pkg_name: str, absdir: str) -> None:
    """After a failed load: forget the synthetic package and take DIR off sys.path."""
    _purge(lambda name: name == pkg_name or name.startswith(pkg_name + "."))
    _remove_from_path(absdir)


def _find_instance(module: types.ModuleType, main_path: str, fastmcp_cls: type) -> Any:
    """Pick the FastMCP instance among the module's attributes (definition order)."""
    found: dict[int, list[str]] = {}
    instances: dict[int, Any] = {}
    for attr, value in vars(module).items():
        if isinstance(value, fastmcp_cls):
            found.setdefault(id(value), []).append(attr)
            instances[id(value)] = value
    if not instances:
        raise McpLoadError(
            f"No FastMCP instance found in {main_path}; define `mcp = FastMCP(...)` at module level"
        )
    if len(instances) == 1:
        return next(iter(instances.values()))
    preferred = getattr(module, "mcp", None)
    if isinstance(preferred, fastmcp_cls):
        return preferred
    listing = ", ".join(" = ".join(names) for names in found.values())
    raise McpLoadError(
        f"Several FastMCP instances found in {main_path} ({listing}); name the one to serve `mcp`"
    )


def _purge(predicate: Any) -> None:
    # A snapshot first (one C call, atomic under the GIL): another thread may import while the predicate runs.
    for name in [n for n in list(sys.modules) if predicate(n)]:
        del sys.modules[name]


def _sibling_names(absdir: str) -> set[str]:
    """Top-level module names `DIR` provides when it is on sys.path."""
    names: set[str] = set()
    for entry in os.scandir(absdir):
        if entry.is_file() and entry.name.endswith(".py"):
            stem = entry.name[:-3]
            if stem.isidentifier():
                names.add(stem)
        elif entry.is_dir() and entry.name.isidentifier() and entry.name != "__pycache__":
            names.add(entry.name)
    return names


def _protected_roots() -> list[str]:
    """Directories whose modules are never purged: installed packages and the stdlib."""
    roots = set(site.getsitepackages()) | {site.getusersitepackages()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    return [os.path.abspath(r) for r in roots if r]


def _module_locations(module: types.ModuleType) -> list[str]:
    locations = []
    file = getattr(module, "__file__", None)
    if file:
        locations.append(os.path.abspath(file))
    locations.extend(os.path.abspath(p) for p in list(getattr(module, "__path__", []) or []))
    return locations


def _is_under(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        return False


def _purge_shadowing_siblings(absdir: str) -> None:
    """Drop already-imported modules that would shadow `DIR`'s siblings (see the module doc)."""
    protected = _protected_roots()
    for name in _sibling_names(absdir) - {"main"}:
        existing = sys.modules.get(name)
        if existing is None or name in sys.stdlib_module_names:
            continue
        locations = _module_locations(existing)
        if not locations:  # built-in / frozen / synthetic: leave alone
            continue
        if any(_is_under(loc, root) for loc in locations for root in protected):
            continue
        _purge(lambda n, name=name: n == name or n.startswith(name + "."))


def _remove_from_path(absdir: str) -> None:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != absdir or p == ""]
    importlib.invalidate_caches()
