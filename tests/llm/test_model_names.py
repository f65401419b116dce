"""Model naming (docs/contract.md §9), the API-key pre-check and .env loading (real litellm, real files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from osmosis_local.errors import MissingAPIKeyError
from osmosis_local.llm.model_names import (
    PROVIDER_KEY_ENV,
    ModelNameError,
    ResolvedModel,
    check_api_key,
    load_dotenv_upwards,
    resolve_model,
)

BASE = "http://127.0.0.1:8123/v1"


@pytest.mark.parametrize(
    ("name", "base_url", "expected"),
    [
        ("gpt-5-mini", None, ResolvedModel("openai/gpt-5-mini", "gpt-5-mini", None, "openai")),
        (" gpt-4o ", None, ResolvedModel("openai/gpt-4o", "gpt-4o", None, "openai")),
        ("openai/gpt-4o", None, ResolvedModel("openai/gpt-4o", "openai/gpt-4o", None, "openai")),
        (
            "anthropic/claude-sonnet-4-5",
            None,
            ResolvedModel("anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", None, "anthropic"),
        ),
        ("groq/llama-3.1-8b", None, ResolvedModel("groq/llama-3.1-8b", "groq/llama-3.1-8b", None, "groq")),
        ("Qwen/Qwen3-0.6B", BASE, ResolvedModel("openai/Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", BASE, "openai")),
        ("openai/my-model", BASE, ResolvedModel("openai/my-model", "openai/my-model", BASE, "openai")),
        ("plain", BASE, ResolvedModel("openai/plain", "plain", BASE, "openai")),
        (
            "local/qwen2.5-1.5b",
            None,
            ResolvedModel("local/qwen2.5-1.5b", "local/qwen2.5-1.5b", None, "local", is_local=True),
        ),
        (
            "local/qwen2.5-1.5b",
            BASE,
            ResolvedModel("local/qwen2.5-1.5b", "local/qwen2.5-1.5b", BASE, "local", is_local=True),
        ),
        ("gpt-4o", "  ", ResolvedModel("openai/gpt-4o", "gpt-4o", None, "openai")),
    ],
)
def test_resolve_model(name: str, base_url: str | None, expected: ResolvedModel) -> None:
    assert resolve_model(name, base_url) == expected


@pytest.mark.parametrize("name", ["Qwen/Qwen3-0.6B", "notaprovider/model-x"])
def test_unknown_provider_is_a_clear_error_and_litellm_prints_nothing(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ModelNameError) as info:
        resolve_model(name)
    message = str(info.value)
    assert message.startswith(f"Invalid LiteLLM model format: {name!r}. Use 'provider/model'")
    assert "--base-url" in message and "\n" not in message
    captured = capsys.readouterr()
    assert captured.out == "" and "Provider List" not in captured.err


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_model_name(name: str) -> None:
    with pytest.raises(ModelNameError, match="Model name is empty; pass --model"):
        resolve_model(name)


OPENAI = ResolvedModel("openai/gpt-5-mini", "gpt-5-mini", None, "openai")
ANTHROPIC = ResolvedModel("anthropic/claude-x", "anthropic/claude-x", None, "anthropic")


@pytest.mark.parametrize(
    ("resolved", "api_key", "env", "missing_var"),
    [
        (OPENAI, None, {}, "OPENAI_API_KEY"),
        (OPENAI, None, {"OPENAI_API_KEY": "   "}, "OPENAI_API_KEY"),
        (ANTHROPIC, None, {"OPENAI_API_KEY": "sk-x"}, "ANTHROPIC_API_KEY"),
        (OPENAI, None, {"OPENAI_API_KEY": "sk-x"}, None),
        (OPENAI, "sk-given", {}, None),
        (OPENAI, "  ", {}, "OPENAI_API_KEY"),
        (OPENAI, None, {"LITELLM_API_KEY": "lk"}, None),
        (ResolvedModel("openai/m", "m", BASE, "openai"), None, {}, None),
        (ResolvedModel("ollama/llama3", "ollama/llama3", None, "ollama"), None, {}, None),
        (ResolvedModel("local/q", "local/q", None, "local", is_local=True), None, {}, None),
        (ResolvedModel("together_ai/x", "together_ai/x", None, "together_ai"), None, {}, "TOGETHERAI_API_KEY"),
    ],
)
def test_check_api_key(resolved: ResolvedModel, api_key: str | None, env: dict, missing_var: str | None) -> None:
    if missing_var is None:
        check_api_key(resolved, api_key, environ=env)
        return
    with pytest.raises(MissingAPIKeyError) as info:
        check_api_key(resolved, api_key, environ=env)
    assert isinstance(info.value, ModelNameError)  # set-up code may catch either
    assert str(info.value) == (
        f"Missing API key for provider '{resolved.provider}'. "
        f"Set {missing_var} or LITELLM_API_KEY, or pass --api-key"
    )
    for value in env.values():
        if value.strip():
            assert value not in str(info.value)


def test_check_api_key_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITELLM_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError):
        check_api_key(ANTHROPIC)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    check_api_key(ANTHROPIC)


def test_provider_table_matches_the_contract() -> None:
    assert len(PROVIDER_KEY_ENV) == 19
    assert PROVIDER_KEY_ENV["perplexity"] == "PERPLEXITYAI_API_KEY"
    assert PROVIDER_KEY_ENV["nvidia_nim"] == "NVIDIA_NIM_API_KEY"


def test_load_dotenv_upwards_finds_a_parent_env_without_overriding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("OSMO_TEST_NEW=from-file\nOSMO_TEST_SET=from-file\n")
    child = tmp_path / "a" / "b"
    child.mkdir(parents=True)
    monkeypatch.chdir(child)
    monkeypatch.setenv("OSMO_TEST_SET", "already")
    monkeypatch.setenv("OSMO_TEST_NEW", "placeholder")
    monkeypatch.delenv("OSMO_TEST_NEW")  # registered with monkeypatch, so it is removed afterwards

    found = load_dotenv_upwards()

    assert found == tmp_path / ".env"
    assert os.environ["OSMO_TEST_NEW"] == "from-file"
    assert os.environ["OSMO_TEST_SET"] == "already"


def test_load_dotenv_upwards_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if any((p / ".env").exists() for p in [tmp_path, *tmp_path.parents]):
        pytest.fail("a stray .env above the pytest tmp dir makes this test meaningless")
    monkeypatch.chdir(tmp_path)
    assert load_dotenv_upwards() is None
