"""API-key resolution for the judge (docs/contract.md §3), kept apart so its messages are easy to test.

Order for a hosted provider: a non-blank ``model_info["api_key"]``, then the variable named by
``model_info["api_key_env"]``, then the provider's default variable. For an OpenAI-compatible endpoint
(``base_url`` or the embedded local model) a key is optional: only an explicit ``api_key`` or
``api_key_env`` is used, never the provider default, so a hosted key is not sent to an arbitrary URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from osmosis_local.errors import MissingAPIKeyError
from osmosis_local.llm.provider_keys import JUDGE_KEY_ENV, PROVIDER_KEY_ENV

DEFAULT_API_KEY_ENV = JUDGE_KEY_ENV  # the judge's default key variable per provider
PROVIDER_KEY_VARIABLES = PROVIDER_KEY_ENV  # every provider a key variable is known for (the judge's or not)

# Sent to OpenAI-compatible endpoints that need no key: the OpenAI client refuses an empty one.
PLACEHOLDER_KEY = "no-key-required"


def _export_hint(env_names: list[str]) -> str:
    exports = "\n".join(f'    export {name}="..."' for name in dict.fromkeys(env_names))
    return "Set the required API key before running:\n\n" + exports


def _explicit_env_name(model_info: Mapping[str, Any]) -> str | None:
    env_name = model_info.get("api_key_env")
    if isinstance(env_name, str) and env_name.strip():
        return env_name.strip()
    return None


def _explicit_key(model_info: Mapping[str, Any]) -> str | None:
    key = model_info.get("api_key")
    if isinstance(key, str) and key.strip():
        return key.strip()
    return None


def _read_env(env_name: str, provider: str) -> str:
    value = os.getenv(env_name, "").strip()
    if not value:
        raise MissingAPIKeyError(
            f"Environment variable '{env_name}' is not set. Export it with your {provider} API key "
            f"before calling evaluate_rubric (or pass model_info['api_key']).\n{_export_hint([env_name])}"
        )
    return value


def resolve_api_key(provider: str, model_info: Mapping[str, Any]) -> str:
    """The key for a hosted provider, or `MissingAPIKeyError` saying exactly what to set."""
    explicit = _explicit_key(model_info)
    if explicit:
        return explicit
    env_name = _explicit_env_name(model_info) or DEFAULT_API_KEY_ENV.get(provider)
    if env_name is None:
        raise MissingAPIKeyError(
            f"Missing API key for provider '{provider}': no default environment variable is known for it. "
            "Give model_info['api_key_env'] (the name of the variable holding the key) or "
            f"model_info['api_key'].\n{_export_hint(list(DEFAULT_API_KEY_ENV.values()))}"
        )
    return _read_env(env_name, provider)


def resolve_endpoint_key(provider: str, model_info: Mapping[str, Any]) -> str:
    """The key for an OpenAI-compatible endpoint: explicit key, explicit env var, else a placeholder."""
    explicit = _explicit_key(model_info)
    if explicit:
        return explicit
    env_name = _explicit_env_name(model_info)
    if env_name is not None:
        return _read_env(env_name, provider)
    return PLACEHOLDER_KEY
