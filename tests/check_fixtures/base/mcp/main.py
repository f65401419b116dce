"""Fixture tool server: the instance, then every tool module."""

import tools  # noqa: F401  (registers the tools)
from server import mcp

__all__ = ["mcp"]

if __name__ == "__main__":
    mcp.run(transport="http")
