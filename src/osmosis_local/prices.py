"""Token prices per model, from the price list litellm ships (read as JSON data: litellm is never imported).

A price is known or it is not: a model the list does not name (a model served by vLLM under its own name, a
fine-tune) has no price, and its cost is reported as unknown, never guessed. The embedded model and the
harness's scripted-policy test double cost nothing.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Price", "FREE", "LOCAL_PREFIX", "price_of", "is_priced_model_name", "price_list_path"]

PRICE_FILE = "model_prices_and_context_window_backup.json"
LOCAL_PREFIX = "local/"  # the embedded model's names
SCRIPTED_MODEL = "scripted"  # the name `osmosis-local serve scripted` and the tests' test double answer to


@dataclass(frozen=True)
class Price:
    """Dollars per prompt token and per completion token, and where the figure came from."""

    input_per_token: float
    output_per_token: float
    source: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


FREE = Price(0.0, 0.0, "runs on this machine")


def price_list_path() -> Path | None:
    """Where litellm's bundled price list is, found without importing litellm (None if it is not installed)."""
    spec = importlib.util.find_spec("litellm")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / PRICE_FILE
        if path.is_file():
            return path
    return None


@functools.cache
def _price_list() -> dict[str, Any]:
    path = price_list_path()
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, dict) and key != "sample_spec"}


def _entry(name: str) -> tuple[str, dict[str, Any]] | None:
    """The price list's entry for ``name``: as written, or without a ``provider/`` prefix the entry agrees with."""
    prices = _price_list()
    if name in prices:
        return name, prices[name]
    provider, sep, bare = name.partition("/")
    if sep and bare in prices and prices[bare].get("litellm_provider") in (provider, f"{provider}_chat"):
        return bare, prices[bare]
    return None


def is_priced_model_name(name: str) -> bool:
    """The price list names this model (so it is a provider's model, not one only a --base-url serves)."""
    return _entry(name) is not None


def price_of(name: str, *, is_local: bool | None = None) -> Price | None:
    """The price of ``name`` per token, ``FREE`` for the embedded model (``is_local``; by default a ``local/``
    name) and the scripted test double, None when the list has no price for it."""
    if is_local is None:
        is_local = name.startswith(LOCAL_PREFIX)
    if is_local or name == SCRIPTED_MODEL:
        return FREE if is_local else Price(0.0, 0.0, "the scripted-policy test double")
    found = _entry(name)
    if found is None:
        return None
    key, entry = found
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not isinstance(prompt, int | float) or not isinstance(completion, int | float):
        return None
    return Price(float(prompt), float(completion), f"litellm's price list ({key})")
