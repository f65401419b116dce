"""The judge's API key never shows up in exceptions, logs, return values or cache files."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

import pytest

from osmosis_local import ProviderRequestError, evaluate_rubric
from osmosis_local.llm.retry import RetryPolicy
from osmosis_local.rubric.spec import resolve_spec
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

SECRET = "sk-judge-SECRET-0123456789abcdef"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSMOSIS_RUBRIC_CACHE_DIR", raising=False)
    monkeypatch.setenv("MY_JUDGE_KEY", SECRET)


def _echo_secret_reply(body: dict) -> dict:
    """A hostile judge that echoes the key it was sent into every text field it controls."""
    return chat_completion(content=json.dumps({"score": 1, "explanation": f"your key is {SECRET}"}), model=SECRET)


def _echo_secret_error(_body: dict) -> ScriptedReply:
    return ScriptedReply(status=401, body={"error": {"message": f"Incorrect API key provided: {SECRET}"}})


def _info(server: ScriptedOpenAIServer, tmp_path: Path) -> dict:
    return {
        "provider": "vllm",
        "model": "judge",
        "base_url": server.base_url,
        "api_key_env": "MY_JUDGE_KEY",
        "cache": str(tmp_path),
        "retry": RetryPolicy(max_attempts=2, initial_wait_s=0.01),
    }


def test_key_is_sent_but_redacted_from_result_and_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with ScriptedOpenAIServer(_echo_secret_reply) as server:
        details = evaluate_rubric("r", "a", _info(server, tmp_path), return_details=True)
        cached = evaluate_rubric("r", "a", _info(server, tmp_path), return_details=True)
    assert server.auth_headers[0] == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(details) and SECRET not in json.dumps(cached)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8")
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "responder",
    [
        pytest.param(_echo_secret_error, id="auth-error-echoing-key"),
        pytest.param(
            lambda _b: ScriptedReply(status=503, body={"error": {"message": f"down; key={SECRET}"}}), id="retried-5xx"
        ),
        pytest.param(lambda _b: chat_completion(content=f"not json {SECRET}"), id="garbage-echoing-key"),
    ],
)
def test_key_is_absent_from_errors_tracebacks_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, responder
) -> None:
    caplog.set_level(logging.DEBUG)
    with ScriptedOpenAIServer(responder) as server:
        with pytest.raises(ProviderRequestError) as info:
            evaluate_rubric("r", "a", _info(server, tmp_path))
    rendered = "".join(traceback.format_exception(info.value))
    assert SECRET not in rendered
    assert SECRET not in repr(info.value.args)
    assert SECRET not in caplog.text
    assert not list(tmp_path.rglob("*.json"))
    if len(server.requests) > 1:  # the retried case logged its retry, without the key
        assert "retrying in" in caplog.text


def test_spec_repr_hides_the_key(tmp_path: Path) -> None:
    spec = resolve_spec("r", "a", {"provider": "openai", "model": "gpt-4o", "api_key": SECRET})
    assert SECRET not in repr(spec)
