"""Load ``mcp/`` exactly the way the Osmosis SDK (osmosis-ai 0.2.17) does, and report as JSON.

Why: the platform runs our tools through the SDK's private-API loader on FastMCP 2.14.5, not through
an MCP client. This script is a faithful, dependency-free emulation of that path (docs/contract.md §4) so a
test can run it in a scratch venv with FastMCP 2.14.5 and prove the tools load and answer there:

1. import ``DIR/main.py`` as ``_osmosis_mcp_<sha256(DIR)[:8]>.main`` (synthetic package whose
   ``__path__`` is ``[DIR]``), with DIR at the front of ``sys.path`` only during the import, then
   restore ``sys.path`` and evict modules whose file lies under DIR;
2. take the first attribute in ``dir(module)`` that is a ``FastMCP``;
3. read ``server._tool_manager._tools`` and build the SDK's OpenAI tool schemas;
4. ``await server._tool_manager.call_tool(name, args)`` and turn the result (or exception) into the
   tool-message content the SDK would send to the model.

Usage: ``python scripts/sdk_mcp_loader.py [--mcp-dir DIR] [--call NAME JSON_ARGS ...]``.
Only the standard library and fastmcp are needed; stdout is one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_MCP_DIR = Path(__file__).resolve().parent.parent / "mcp"
DEFAULT_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("add", {"a": 2, "b": 3}),
    ("add", {"a": 0.1, "b": 0.2}),
    ("divide", {"a": 1, "b": 0}),
    ("divide", {"a": 1, "b": 3}),
    ("power", {"base": 10, "exponent": 10**10}),
    ("power", {"base": 2, "exponent": 200}),
    ("square_root", {"x": 2.25}),
    ("round_number", {"x": 2.675, "decimals": 2}),
    ("round_number", {"x": -2.5}),
    ("modulo", {"a": -7, "b": 3}),
    ("add", {"a": True, "b": 1}),
    ("not_a_tool", {}),
]
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LoadError(Exception):
    """The SDK's MCPLoadError: what went wrong while loading DIR/main.py."""


# --- 1-2: loading (osmosis_ai/rollout/mcp/loader.py) -------------------------------------------


def _clear_module_tree(prefix: str) -> None:
    for name in list(sys.modules):
        if name == prefix or name.startswith(prefix + "."):
            sys.modules.pop(name, None)


@contextlib.contextmanager
def _temporary_sys_path(path: str) -> Iterator[None]:
    original = list(sys.path)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path[:] = original


def load_mcp_server(mcp_path: str) -> tuple[Any, str, str]:
    """Return (server, attribute name, synthetic package name) like the SDK's load_mcp_server."""
    mcp_dir = os.path.abspath(mcp_path)
    main_py = os.path.join(mcp_dir, "main.py")
    if not os.path.isdir(mcp_dir) or not os.path.isfile(main_py):
        raise LoadError(f"No main.py found in MCP directory: {mcp_dir}")
    try:
        from fastmcp import FastMCP
    except ImportError as exc:
        raise LoadError("fastmcp is not installed. Install it with: pip install osmosis-ai[mcp]") from exc

    package_name = f"_osmosis_mcp_{hashlib.sha256(mcp_dir.encode()).hexdigest()[:8]}"
    _clear_module_tree(package_name)
    package = types.ModuleType(package_name)
    package.__package__ = package_name
    package.__path__ = [mcp_dir]  # type: ignore[attr-defined]
    package.__file__ = os.path.join(mcp_dir, "__init__.py")
    sys.modules[package_name] = package

    spec = importlib.util.spec_from_file_location(f"{package_name}.main", main_py)
    if spec is None or spec.loader is None:
        raise LoadError(f"Cannot create module spec for: {main_py}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    modules_before = set(sys.modules)
    try:
        with _temporary_sys_path(mcp_dir):
            spec.loader.exec_module(module)
    except Exception as exc:
        _clear_module_tree(package_name)
        raise LoadError(f"Error importing {main_py}: {exc}") from exc

    for name in set(sys.modules) - modules_before:
        if name.startswith(package_name):
            continue
        mod_file = getattr(sys.modules[name], "__file__", None) or ""
        if mod_file.startswith(mcp_dir + os.sep):
            sys.modules.pop(name, None)

    for attr_name in dir(module):
        if isinstance(getattr(module, attr_name), FastMCP):
            return getattr(module, attr_name), attr_name, package_name
    raise LoadError(f"No FastMCP instance found in {main_py}.")


# --- 3: schema conversion (osmosis_ai/rollout/mcp/agent_loop.py) --------------------------------


def _resolve_ref(ref: str, defs: dict[str, Any]) -> dict[str, Any]:
    node: Any = {"$defs": defs}
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _json_schema_to_property(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        schema = _resolve_ref(schema["$ref"], defs)
    if "anyOf" in schema:
        non_null = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _json_schema_to_property(non_null[0], defs) if non_null else {"type": "string"}
    raw = schema.get("type", "string")
    if isinstance(raw, list):
        non_null_types = [t for t in raw if isinstance(t, str) and t != "null"]
        prop_type = non_null_types[0] if non_null_types else "string"
    else:
        prop_type = raw if isinstance(raw, str) else "string"
    if prop_type == "integer":
        prop_type = "number"
    prop = {"type": prop_type, "description": schema.get("description"), "enum": schema.get("enum")}
    if prop["enum"] is not None and not all(isinstance(v, str) for v in prop["enum"]):
        raise LoadError(f"enum must be a list of strings, got {prop['enum']!r}")  # pydantic would fail
    return {k: v for k, v in prop.items() if v is not None}  # nulls are dropped when sent


def mcp_tool_to_openai(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    defs = parameters.get("$defs", {})
    properties = {
        prop: _json_schema_to_property(schema, defs)
        for prop, schema in parameters.get("properties", {}).items()
    }
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description or f"Tool: {name}",
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(parameters.get("required", [])),
            },
            "strict": False,
        },
    }


def validate_openai_tool(tool: dict[str, Any]) -> str | None:
    """The SDK's per-row check; returns the 'Tool validation error' text or None."""
    fn = tool["function"]
    if not _TOOL_NAME.match(fn["name"]):
        return f"Tool validation error: invalid tool name {fn['name']!r}"
    if fn["parameters"].get("type") != "object":
        return f"Tool validation error: parameters.type must be 'object' for {fn['name']!r}"
    return None


# --- 4: execution (MCPAgentLoop.run + osmosis_ai/rollout/tools.py) ------------------------------


def extract_tool_value(tool_result: Any) -> Any:
    sc = getattr(tool_result, "structured_content", None)
    if sc is not None:
        if isinstance(sc, dict) and list(sc.keys()) == ["result"]:
            return sc["result"]
        return sc
    content = getattr(tool_result, "content", None)
    if content:
        texts = [item.text for item in content if hasattr(item, "text") and item.text]
        return "\n".join(texts) if texts else ""
    return ""


def serialize_tool_result(result: Any) -> str:
    if isinstance(result, bool):
        return json.dumps(result)
    if isinstance(result, (int, float)):
        return str(result)
    if isinstance(result, str):
        return result
    return json.dumps(result)


async def call_tool(server: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """One tool call as MCPAgentLoop makes it: the content string and whether it was an error."""
    try:
        result = await server._tool_manager.call_tool(name, args)
        return {"name": name, "arguments": args, "is_error": False,
                "content": serialize_tool_result(extract_tool_value(result))}
    except Exception as exc:  # the SDK turns every exception into an "Error: ..." tool message
        return {"name": name, "arguments": args, "is_error": True, "content": f"Error: {exc}"}


async def run(mcp_dir: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    import fastmcp

    path_before = list(sys.path)
    server, attribute, package = load_mcp_server(mcp_dir)
    tools = [
        mcp_tool_to_openai(tool.name, tool.description or "", tool.parameters)
        for tool in server._tool_manager._tools.values()
    ]
    results = [await call_tool(server, name, args) for name, args in calls]
    return {
        "fastmcp_version": fastmcp.__version__,
        "server_name": server.name,
        "attribute": attribute,
        "package": package,
        "sys_path_restored": sys.path == path_before,
        "tools": tools,
        "validation_errors": [e for e in map(validate_openai_tool, tools) if e],
        "calls": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcp-dir", default=str(DEFAULT_MCP_DIR), help="folder holding main.py")
    parser.add_argument("--call", nargs=2, action="append", metavar=("NAME", "JSON_ARGS"),
                        help="tool call to make (repeatable); default: a fixed smoke set")
    args = parser.parse_args(argv)
    calls = [(name, json.loads(raw)) for name, raw in args.call] if args.call else DEFAULT_CALLS
    try:
        report = asyncio.run(run(args.mcp_dir, calls))
    except LoadError as exc:
        print(json.dumps({"load_error": str(exc)}))
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
