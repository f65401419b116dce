"""Validate and resolve one `evaluate_rubric` call into a `JudgeSpec` before anything is sent.

Unlike the SDK, every input is checked *before* the API key is looked up, so a caller with a bad
rubric or an empty answer hears about that first, not about a missing key (docs/contract.md, weak spot 14). The order:
model_info → provider → model → rubric → solution_str → optional texts/metadata → score range →
timeout → retry policy → cache setting → endpoint and key.

Judges come in three kinds:
- ``hosted``: a provider litellm knows (``openai``, ``anthropic``, ``xai``, ...), key required;
- ``base_url``: any OpenAI-compatible server (vLLM, LM Studio, llama.cpp, a test double), key optional;
- ``local``: provider ``local`` or a model named ``local/...``: the embedded model, started lazily.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from osmosis_local.llm.retry import RetryPolicy
from osmosis_local.rubric.cache import resolve_cache_dir
from osmosis_local.rubric.keys import resolve_api_key, resolve_endpoint_key

EndpointKind = Literal["hosted", "base_url", "local"]
RESPONSE_FORMATS = ("json_schema", "json_object", "none")
RETRY_ATTEMPTS_ENV = "OSMOSIS_RUBRIC_RETRY_ATTEMPTS"
RETRY_WAIT_ENV = "OSMOSIS_RUBRIC_RETRY_WAIT_S"
DEFAULT_TIMEOUT_S = 30.0
BASE_URL_TIMEOUT_S = 60.0
LOCAL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class JudgeSpec:
    """Everything one judge call needs, validated. ``api_key`` is never printed (``repr=False``)."""

    provider: str
    model: str
    kind: EndpointKind
    rubric: str
    solution_str: str
    score_min: float
    score_max: float
    timeout: float
    retry: RetryPolicy
    api_key: str = field(repr=False)
    base_url: str | None = None
    local_model: str | None = None
    ground_truth: str | None = None
    original_input: str | None = None
    metadata: Mapping[str, Any] | None = None
    system_prompt: str | None = None
    reasoning_effort: Any = None
    response_format: str | None = None
    cache_dir: Path | None = None

    @property
    def endpoint_identity(self) -> str:
        """What identifies the endpoint for caching: stable across runs (not the local model's port)."""
        if self.kind == "local":
            return f"local:{self.local_model}"
        return self.base_url or f"hosted:{self.provider}"

    def with_base_url(self, base_url: str) -> JudgeSpec:
        return replace(self, base_url=base_url)


def _non_blank(value: Any, message: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{message} (got {value!r})"[:200])
    return value.strip()


def _optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"'{what}' must be a string or None, got {type(value).__name__}.")
    return value if value.strip() else None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'{what}' must be a number, got {type(value).__name__}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"'{what}' must be finite, got {number}.")
    return number


def _score_range(score_min: Any, score_max: Any, model_info: Mapping[str, Any]) -> tuple[float, float]:
    low = score_min if score_min is not None else model_info.get("score_min")
    high = score_max if score_max is not None else model_info.get("score_max")
    low_f = 0.0 if low is None else _number(low, "score_min")
    high_f = 1.0 if high is None else _number(high, "score_max")
    if high_f <= low_f:
        raise ValueError(f"'score_max' ({high_f}) must be greater than 'score_min' ({low_f}).")
    return low_f, high_f


def default_timeout(provider: str, model: str, kind: EndpointKind) -> float:
    """The SDK's per-provider defaults; our own, longer ones for self-hosted and embedded judges."""
    if kind == "local":
        return LOCAL_TIMEOUT_S
    if kind == "base_url":
        return BASE_URL_TIMEOUT_S
    name = model.lower()
    if provider == "xai" and name.startswith("grok-4"):
        return 60.0
    if provider == "openai" and name.startswith("gpt-5"):
        return 45.0
    return {"xai": 45.0, "gemini": 45.0, "cerebras": 60.0, "openrouter": 60.0}.get(provider, DEFAULT_TIMEOUT_S)


def _timeout(timeout: Any, model_info: Mapping[str, Any], provider: str, model: str, kind: EndpointKind) -> float:
    chosen = timeout if timeout is not None else (model_info.get("timeout") or None)
    if chosen is None:
        return default_timeout(provider, model, kind)
    value = _number(chosen, "timeout")
    if value <= 0:
        raise ValueError(f"'timeout' must be positive, got {value}.")
    return value


def _env_number(name: str, cast: type) -> Any:
    raw = os.getenv(name, "").strip()
    if not raw:
        return None
    try:
        return cast(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be a {cast.__name__}, got {raw!r}.") from None


def retry_policy(setting: Any) -> RetryPolicy:
    """``model_info["retry"]`` (a RetryPolicy, a dict of its fields, or an attempt count), else the env knobs."""
    if isinstance(setting, RetryPolicy):
        return setting
    if isinstance(setting, Mapping):
        return RetryPolicy(**dict(setting))
    if isinstance(setting, int) and not isinstance(setting, bool):
        if setting < 1:
            raise ValueError(f"model_info['retry'] must be at least 1 attempt, got {setting}.")
        return RetryPolicy(max_attempts=setting)
    if setting is not None:
        raise TypeError(f"model_info['retry'] must be a RetryPolicy, a dict or an int, got {type(setting).__name__}.")
    policy = RetryPolicy()
    attempts = _env_number(RETRY_ATTEMPTS_ENV, int)
    wait = _env_number(RETRY_WAIT_ENV, float)
    if attempts is not None:
        policy = replace(policy, max_attempts=max(1, attempts))
    if wait is not None:
        policy = replace(policy, initial_wait_s=max(0.0, wait), max_wait_s=max(wait * 8, 0.0))
    return policy


def _endpoint(provider: str, model: str, model_info: Mapping[str, Any]) -> tuple[EndpointKind, str | None, str | None]:
    base_url = model_info.get("base_url")
    if base_url is not None:
        if not isinstance(base_url, str) or not base_url.strip().startswith(("http://", "https://")):
            raise ValueError(f"model_info['base_url'] must be an http(s) URL, got {base_url!r}.")
        return "base_url", base_url.strip().rstrip("/"), None
    if provider == "local" or model.startswith("local/"):
        return "local", None, model if model.startswith("local/") else f"local/{model}"
    return "hosted", None, None


def _response_format(model_info: Mapping[str, Any]) -> str | None:
    choice = model_info.get("response_format")
    if choice is not None and choice not in RESPONSE_FORMATS:
        raise ValueError(f"model_info['response_format'] must be one of {', '.join(RESPONSE_FORMATS)}, got {choice!r}.")
    return choice


def resolve_spec(
    rubric: Any,
    solution_str: Any,
    model_info: Any,
    *,
    ground_truth: Any = None,
    original_input: Any = None,
    metadata: Any = None,
    score_min: Any = None,
    score_max: Any = None,
    timeout: Any = None,
) -> JudgeSpec:
    """Check every argument (TypeError/ValueError), then resolve the key (MissingAPIKeyError) last."""
    if not isinstance(model_info, Mapping):
        raise TypeError(f"'model_info' must be a dict, got {type(model_info).__name__}.")
    provider = _non_blank(model_info.get("provider"), "'model_info' must include a non-empty 'provider' string").lower()
    model = _non_blank(model_info.get("model"), "'model_info' must include a non-empty 'model' string")
    rubric_text = _non_blank(rubric, "'rubric' must be a non-empty string")
    _non_blank(
        solution_str,
        "'solution_str' must be a non-empty string: an empty answer cannot be judged "
        "(score it 0 yourself if that is what you want)",
    )
    truth = _optional_text(ground_truth, "ground_truth")
    question = _optional_text(original_input, "original_input") or _optional_text(
        model_info.get("original_input"), "model_info['original_input']"
    )
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"'metadata' must be a dict or None, got {type(metadata).__name__}.")
    low, high = _score_range(score_min, score_max, model_info)
    kind, base_url, local_model = _endpoint(provider, model, model_info)
    spec_timeout = _timeout(timeout, model_info, provider, model, kind)
    policy = retry_policy(model_info.get("retry"))
    cache_dir = resolve_cache_dir(model_info.get("cache"))
    response_format = _response_format(model_info)
    system_prompt = model_info.get("system_prompt")
    api_key = resolve_api_key(provider, model_info) if kind == "hosted" else resolve_endpoint_key(provider, model_info)
    return JudgeSpec(
        provider=provider,
        model=model,
        kind=kind,
        rubric=rubric_text,
        solution_str=solution_str,
        score_min=low,
        score_max=high,
        timeout=spec_timeout,
        retry=policy,
        api_key=api_key,
        base_url=base_url,
        local_model=local_model,
        ground_truth=truth,
        original_input=question,
        metadata=metadata,
        system_prompt=system_prompt if isinstance(system_prompt, str) and system_prompt.strip() else None,
        reasoning_effort=model_info.get("reasoning_effort"),
        response_format=response_format,
        cache_dir=cache_dir,
    )
