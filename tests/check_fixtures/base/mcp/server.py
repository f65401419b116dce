"""The fixture's FastMCP instance."""

from fastmcp import FastMCP

mcp = FastMCP("FixtureTools")
