"""The local model's OpenAI-compatible HTTP server, on a real loopback port with a stand-in engine.

`CannedEngineDouble` is a test double for `LocalEngine` (no weights): it answers from the request
so the tests can check routing, status codes and error bodies, and that litellm and the OpenAI
client talk to the endpoint exactly as they would to the real model.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import osmosis_local  # noqa: F401  (offline env before litellm)
from osmosis_local.local_model.engine import EngineRequestError
from osmosis_local.local_model.errors import LocalModelError
from osmosis_local.local_model.server import (
    PLACEHOLDER_API_KEY,
    BackgroundServer,
    add_serve_model_arguments,
    run_serve_model,
)

MODEL = "local/qwen2.5-1.5b"


class CannedEngineDouble:
    """Test double for LocalEngine: echoes the last user message, or fails on request."""

    model_name = MODEL

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.threads: set[str] = set()

    def chat_completion(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        self.threads.add(threading.current_thread().name)
        text = request["messages"][-1]["content"]
        if text == "too long":
            raise EngineRequestError("This model's maximum context length is 8192 tokens (context_length_exceeded).",
                                     code="context_length_exceeded")
        if text == "crash":
            raise LocalModelError("engine fell over")
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": request.get("model", MODEL),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"echo: {text}"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


@pytest.fixture
def served() -> Iterator[tuple[BackgroundServer, CannedEngineDouble]]:
    engine = CannedEngineDouble()
    server = BackgroundServer(engine).start()
    try:
        yield server, engine
    finally:
        server.stop()


def test_health_and_models(served) -> None:
    server, _ = served
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    root = server.base_url.removesuffix("/v1")

    assert httpx.get(f"{root}/health").json() == {"status": "ok", "model": MODEL}
    models = httpx.get(f"{server.base_url}/models").json()
    assert [m["id"] for m in models["data"]] == [MODEL]


@pytest.mark.parametrize("model", [MODEL, "qwen2.5-1.5b", None])
def test_chat_completion_round_trip(served, model: str | None) -> None:
    server, engine = served
    body = {"messages": [{"role": "user", "content": "hi"}], **({"model": model} if model else {})}

    response = httpx.post(f"{server.base_url}/chat/completions", json=body)

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "echo: hi"
    assert engine.requests == [body]
    assert all(name != threading.main_thread().name for name in engine.threads)  # not on the event loop


@pytest.mark.parametrize(
    ("content", "body", "status", "code"),
    [
        (b"{not json", None, 400, None),
        (b"[1, 2]", None, 400, None),
        (None, {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}, 404, "model_not_found"),
        (None, {"model": MODEL, "messages": [{"role": "user", "content": "too long"}]}, 400, "context_length_exceeded"),
        (None, {"model": MODEL, "messages": [{"role": "user", "content": "crash"}]}, 500, None),
    ],
)
def test_errors_have_openai_shape(served, content: bytes | None, body: dict | None, status: int, code: str | None) -> None:
    server, _ = served
    url = f"{server.base_url}/chat/completions"
    response = httpx.post(url, content=content, headers={"content-type": "application/json"}) if content \
        else httpx.post(url, json=body)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"] and error["code"] == code


def test_litellm_uses_the_endpoint_with_the_placeholder_key(served, monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm

    for name in ("OPENAI_API_KEY", "LITELLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    server, engine = served

    reply = litellm.completion(model=f"openai/{MODEL}", api_base=server.base_url, api_key=PLACEHOLDER_API_KEY,
                               messages=[{"role": "user", "content": "ping"}], max_tokens=5, num_retries=0)

    assert reply.choices[0].message.content == "echo: ping"
    assert reply.usage.total_tokens == 5
    assert engine.requests[0]["model"] == MODEL and engine.requests[0]["max_tokens"] == 5


def test_litellm_sees_a_context_overflow_as_a_context_window_error(served) -> None:
    import litellm

    server, _ = served
    with pytest.raises(litellm.exceptions.ContextWindowExceededError):
        litellm.completion(model=f"openai/{MODEL}", api_base=server.base_url, api_key=PLACEHOLDER_API_KEY, num_retries=0,
                           messages=[{"role": "user", "content": "too long"}])


def test_serve_model_arguments_and_a_clear_error_for_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    parser = add_serve_model_arguments(argparse.ArgumentParser())
    defaults = parser.parse_args([])
    assert (defaults.model, defaults.host, defaults.port) == (MODEL, "127.0.0.1", 8000)

    assert run_serve_model(parser.parse_args(["--model", "local/nope", "--port", "1"])) == 1
    assert "Error: Unknown local model 'local/nope'" in capsys.readouterr().err


def test_a_stopped_server_releases_its_port() -> None:
    server = BackgroundServer(CannedEngineDouble()).start()
    port = server.port
    server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)


def test_run_serve_model_accepts_a_parser_without_the_tuning_flags(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(model="local/nope", host="127.0.0.1", port=1)  # as the CLI declares it
    assert run_serve_model(args) == 1
    assert "Unknown local model" in capsys.readouterr().err
