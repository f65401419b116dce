"""Entry point of the MCP tool server: the platform imports this file, people run it.

Why it looks like this: the Osmosis SDK imports ``main.py`` inside a synthetic package with this
folder at the front of ``sys.path`` and takes the first FastMCP instance it finds, so tools must be
registered as a side effect of the import. ``mcp`` comes from ``server`` (sibling import, as in the
reference example) and every public module in ``tools/`` is imported here, so a new tool file needs
no edit anywhere else. ``python mcp/main.py`` serves streamable HTTP at ``/mcp``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import tools
from server import mcp  # the one FastMCP instance; tool modules register on it when imported

__all__ = ["TOOL_MODULES", "mcp"]


def import_tool_modules() -> list[str]:
    """Import ``tools/<name>.py`` for every public module (sorted) so its ``@mcp.tool``s register."""
    modules = pkgutil.iter_modules(tools.__path__)
    names = sorted(info.name for info in modules if not info.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{tools.__name__}.{name}")
    return names


TOOL_MODULES = import_tool_modules()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags of ``python mcp/main.py``."""
    parser = argparse.ArgumentParser(description="Serve the OsmosisTools MCP server.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1); 0.0.0.0 in a container"
    )
    parser.add_argument("--port", type=int, default=8080, help="TCP port for HTTP (default 8080)")
    parser.add_argument(
        "--transport",
        choices=["http", "stdio"],
        default="http",
        help="http = streamable HTTP at /mcp (default); stdio = for MCP clients that spawn the server",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the server until interrupted."""
    args = parse_args(argv)
    if args.transport == "stdio":
        mcp.run(transport="stdio", show_banner=False)
        return
    print(f"Serving {mcp.name} on http://{args.host}:{args.port}/mcp (health: /health)", file=sys.stderr)
    mcp.run(transport="http", host=args.host, port=args.port, show_banner=False)


if __name__ == "__main__":
    main()
