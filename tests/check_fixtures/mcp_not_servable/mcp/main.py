"""Fixture tool server with no __main__ block (the SDK imports it; nothing serves it)."""

import tools  # noqa: F401  (registers the tools)
from server import mcp

__all__ = ["mcp"]
