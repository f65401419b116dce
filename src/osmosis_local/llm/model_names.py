"""`--model` / `--base-url` naming and the API-key pre-check (docs/contract.md §9).

The pre-check exists so a run fails at startup with one clear line ("Missing API key for provider
'openai'...") instead of after dataset loading with a provider stack trace. Key values are only
ever tested for presence; nothing here prints or logs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from osmosis_local.errors import MissingAPIKeyError
from osmosis_local.llm.provider_keys import PROVIDER_KEY_ENV

__all__ = [
    "LOCAL_PREFIX",
    "PROVIDER_KEY_ENV",
    "MissingModelKeyError",
    "ModelNameError",
    "ResolvedModel",
    "check_api_key",
    "load_dotenv_upwards",
    "resolve_model",
]

LOCAL_PREFIX = "local/"



class ModelNameError(ValueError):
    """`--model` can't be turned into a LiteLLM model id."""


class MissingModelKeyError(MissingAPIKeyError, ModelNameError):
    """The pre-check's missing key: a `MissingAPIKeyError` (the contract's type) that set-up code
    catching `ModelNameError` for every model-choice problem also catches."""


@dataclass(frozen=True)
class ResolvedModel:
    """How to call a model: the LiteLLM id, the name to show, and where to send requests.

    `is_local` marks `local/...` names (the embedded model); the CLI routes those itself, so
    `litellm_model` is then just the typed name and no provider lookup was done.
    """

    litellm_model: str
    display_name: str
    api_base: str | None
    provider: str
    is_local: bool = False


def resolve_model(name: str, base_url: str | None = None) -> ResolvedModel:
    """Map a typed `--model` (and optional `--base-url`) to a `ResolvedModel` per docs/contract.md §9."""
    if not isinstance(name, str) or not name.strip():
        raise ModelNameError("Model name is empty; pass --model, e.g. --model gpt-5-mini")
    name = name.strip()
    api_base = base_url.strip() if base_url and base_url.strip() else None

    if name.startswith(LOCAL_PREFIX):
        return ResolvedModel(name, name, api_base, "local", is_local=True)
    if api_base is not None:
        model = name if name.startswith("openai/") else f"openai/{name}"
        return ResolvedModel(model, name, api_base, "openai")
    if "/" not in name:
        return ResolvedModel(f"openai/{name}", name, None, "openai")

    provider = name.split("/", 1)[0]
    import litellm  # lazy: importing litellm takes seconds

    litellm.suppress_debug_info = True  # it would print a provider list to stdout on failure
    try:
        litellm.get_llm_provider(name)
    except Exception as exc:  # noqa: BLE001 - litellm raises BadRequestError and others
        detail = str(exc).split("\n", 1)[0].removeprefix("litellm.BadRequestError: ")
        raise ModelNameError(
            f"Invalid LiteLLM model format: {name!r}. Use 'provider/model' with a provider "
            "LiteLLM knows (e.g. 'openai/gpt-5-mini', 'anthropic/claude-sonnet-4-5'), a bare "
            f"OpenAI model name, or pass --base-url for an OpenAI-compatible server. ({detail})"
        ) from None
    return ResolvedModel(name, name, None, provider)


def check_api_key(
    resolved: ResolvedModel,
    api_key: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise `MissingModelKeyError` (a `MissingAPIKeyError`) if the provider's key is unset.

    Skipped with an explicit `api_key`, a base URL, `LITELLM_API_KEY`, a local model, or a
    provider that isn't in `PROVIDER_KEY_ENV` (those are left to LiteLLM).
    """
    env = os.environ if environ is None else environ
    if (api_key and api_key.strip()) or resolved.api_base or resolved.is_local:
        return
    if env.get("LITELLM_API_KEY", "").strip():
        return
    var = PROVIDER_KEY_ENV.get(resolved.provider)
    if var is None or env.get(var, "").strip():
        return
    from osmosis_local.prices import is_priced_model_name, price_list_path

    hint = ""
    if resolved.provider == "openai" and price_list_path() is not None and not (
        is_priced_model_name(resolved.display_name) or is_priced_model_name(resolved.litellm_model)
    ):
        hint = (
            f". '{resolved.display_name}' is not a model OpenAI serves (litellm's price list does not name it): "
            "if an OpenAI-compatible server runs it, a --base-url is probably missing"
        )
    raise MissingModelKeyError(
        f"Missing API key for provider '{resolved.provider}'. "
        f"Set {var} or LITELLM_API_KEY, or pass --api-key{hint}"
    )


def load_dotenv_upwards() -> Path | None:
    """Load the nearest `.env` from the cwd upward without overriding variables already set."""
    from dotenv import find_dotenv, load_dotenv

    found = find_dotenv(usecwd=True)
    if not found:
        return None
    load_dotenv(found, override=False)
    return Path(found)
