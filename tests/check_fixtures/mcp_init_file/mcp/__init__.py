"""Makes mcp/ a package (a mistake)."""
