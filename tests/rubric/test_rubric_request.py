"""The litellm request for hosted judges (docs/contract.md §3, the request) — checked without any network."""

from __future__ import annotations

import pytest

from osmosis_local.rubric.request import build_request
from osmosis_local.rubric.spec import resolve_spec


def _request(provider: str, model: str, **kwargs) -> dict:
    info = {"provider": provider, "model": model, "api_key": "k", **kwargs.pop("model_info", {})}
    spec = resolve_spec("rubric", "answer", info, **kwargs)
    return build_request(spec, "system", "user")


@pytest.mark.parametrize(
    ("provider", "model", "model_id", "timeout", "temperature"),
    [
        ("openai", "gpt-5-mini", "openai/responses/gpt-5-mini", 45.0, None),
        ("OpenAI", "gpt-4o-mini", "openai/gpt-4o-mini", 30.0, 0),
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5-20250929", 30.0, 0),
        ("xai", "grok-4-fast-non-reasoning", "xai/grok-4-fast-non-reasoning", 60.0, 0),
        ("xai", "grok-3", "xai/grok-3", 45.0, 0),
        ("gemini", "gemini-2.5-flash", "gemini/gemini-2.5-flash", 45.0, 0),
        ("cerebras", "llama3.1-8b", "cerebras/llama3.1-8b", 60.0, 0),
        ("openrouter", "x/y", "openrouter/x/y", 60.0, 0),
    ],
)
def test_hosted_ids_timeouts_and_temperature(
    provider: str, model: str, model_id: str, timeout: float, temperature
) -> None:
    request = _request(provider, model)
    assert request["model"] == model_id
    assert request["timeout"] == timeout
    assert request.get("temperature") == temperature
    assert request["api_key"] == "k"
    assert "api_base" not in request


@pytest.mark.parametrize(
    ("model_id_args", "expected_type"),
    [
        (("openai", "gpt-4o-mini"), "json_schema"),  # litellm knows it supports schemas
        (("cerebras", "llama3.1-8b"), "json_object"),  # it does not
    ],
)
def test_response_format_follows_litellm_support(model_id_args: tuple[str, str], expected_type: str) -> None:
    fmt = _request(*model_id_args)["response_format"]
    assert fmt["type"] == expected_type
    if expected_type == "json_schema":
        schema = fmt["json_schema"]
        assert schema["name"] == "reward_rubric_response" and schema["strict"] is True
        assert schema["schema"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("timeout_kwarg", "model_info_timeout", "expected"), [(5, 99, 5.0), (None, 12, 12.0), (None, 0, 30.0)]
)
def test_timeout_precedence(timeout_kwarg, model_info_timeout, expected: float) -> None:
    request = _request("anthropic", "claude", timeout=timeout_kwarg, model_info={"timeout": model_info_timeout})
    assert request["timeout"] == expected


def test_reasoning_effort_is_sent_with_drop_params() -> None:
    request = _request("openai", "gpt-5-mini", model_info={"reasoning_effort": "minimal"})
    assert request["reasoning_effort"] == "minimal" and request["drop_params"] is True


@pytest.mark.parametrize(
    ("model_info", "model_id", "api_base", "timeout"),
    [
        ({"base_url": "http://127.0.0.1:8000/v1/"}, "openai/Qwen/Qwen3-0.6B", "http://127.0.0.1:8000/v1", 60.0),
        ({"base_url": "http://h/v1", "model": "openai/m"}, "openai/m", "http://h/v1", 60.0),
    ],
)
def test_base_url_judges_are_openai_compatible(model_info: dict, model_id: str, api_base: str, timeout: float) -> None:
    info = {"model": "Qwen/Qwen3-0.6B", **model_info}
    request = _request("vllm", info.pop("model"), model_info=info)
    assert (request["model"], request["api_base"], request["timeout"]) == (model_id, api_base, timeout)
    assert request["response_format"]["type"] == "json_schema"


def test_local_judge_names_the_embedded_model_and_waits_longer() -> None:
    spec = resolve_spec("r", "a", {"provider": "local", "model": "qwen2.5-1.5b"})
    assert (spec.kind, spec.local_model, spec.timeout) == ("local", "local/qwen2.5-1.5b", 120.0)
    assert spec.endpoint_identity == "local:local/qwen2.5-1.5b"
    spec = resolve_spec("r", "a", {"provider": "openai", "model": "local/qwen2.5-1.5b"})
    assert spec.kind == "local"
    request = build_request(spec.with_base_url("http://127.0.0.1:1/v1"), "s", "u")
    assert request["model"] == "openai/local/qwen2.5-1.5b"


@pytest.mark.parametrize(
    ("env", "setting", "attempts", "initial"),
    [
        ({}, None, 4, 1.0),
        ({"OSMOSIS_RUBRIC_RETRY_ATTEMPTS": "2", "OSMOSIS_RUBRIC_RETRY_WAIT_S": "0.01"}, None, 2, 0.01),
        ({"OSMOSIS_RUBRIC_RETRY_ATTEMPTS": "9"}, 1, 1, 1.0),
        ({}, {"max_attempts": 3, "initial_wait_s": 0.5}, 3, 0.5),
    ],
)
def test_retry_policy_from_model_info_or_env(
    monkeypatch: pytest.MonkeyPatch, env: dict, setting, attempts: int, initial: float
) -> None:
    for name in ("OSMOSIS_RUBRIC_RETRY_ATTEMPTS", "OSMOSIS_RUBRIC_RETRY_WAIT_S"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    info = {"provider": "openai", "model": "m", "api_key": "k"}
    if setting is not None:
        info["retry"] = setting
    spec = resolve_spec("r", "a", info)
    assert (spec.retry.max_attempts, spec.retry.initial_wait_s) == (attempts, initial)
