"""The tool side of a rollout: MCP tool schemas for the model, and running the model's tool calls."""
