"""Loading the content repository: the decorators, the MCP server, eval functions, datasets, and `new`."""
