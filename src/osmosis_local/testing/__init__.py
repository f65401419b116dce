"""Test doubles: scripted OpenAI-compatible servers that stand in for a model (not models)."""
