"""Fixture tool server that serves as soon as it is imported (no __main__ guard)."""

import tools  # noqa: F401  (registers the tools)
from server import mcp

__all__ = ["mcp"]

mcp.run(transport="http")
