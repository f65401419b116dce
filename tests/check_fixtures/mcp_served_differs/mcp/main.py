"""Fixture tool server that registers one more tool only when run."""

import tools  # noqa: F401  (registers the tools)
from server import mcp

__all__ = ["mcp"]

if __name__ == "__main__":

    @mcp.tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    mcp.run(transport="http")
