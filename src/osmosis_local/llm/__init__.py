"""Model clients: one call per turn to an OpenAI-compatible URL (plain HTTP) or a provider (litellm)."""
