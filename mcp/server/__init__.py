"""The server package: ``from server import mcp`` gives the one FastMCP instance the tools register on."""

from .mcp_server import SERVER_NAME, mcp

__all__ = ["SERVER_NAME", "mcp"]
