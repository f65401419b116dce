"""Fixture tool server with a second, empty instance left over from an experiment."""

import tools  # noqa: F401  (registers the tools)
from fastmcp import FastMCP
from server import mcp

app = FastMCP("Scratch")

__all__ = ["app", "mcp"]

if __name__ == "__main__":
    mcp.run(transport="http")
