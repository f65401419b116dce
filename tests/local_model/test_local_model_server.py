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
from osmosis_local.cli import build_parser
from osmosis_local.local_model.engine import EngineRequestError, LocalEngine
from osmosis_local.local_model.errors import LocalModelError
from osmosis_local.local_model.registry import LocalModelSpec
from osmosis_local.local_model.server import (
    PLACEHOLDER_API_KEY,
    BackgroundServer,
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
def test_errors_have_openai_shape(
    served, content: bytes | None, body: dict | None, status: int, code: str | None
) -> None:
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
        litellm.completion(
            model=f"openai/{MODEL}",
            api_base=server.base_url,
            api_key=PLACEHOLDER_API_KEY,
            num_retries=0,
            messages=[{"role": "user", "content": "too long"}],
        )


def serve_model_args(*argv: str) -> argparse.Namespace:
    """`osmosis-local serve-model ARGV` parsed by the real CLI parser."""
    return build_parser().parse_args(["serve-model", *argv])


def test_serve_model_arguments_and_a_clear_error_for_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    defaults = serve_model_args()
    assert (defaults.model, defaults.host, defaults.port, defaults.n_ctx, defaults.threads) == (
        MODEL, "127.0.0.1", 8000, None, None)

    assert run_serve_model(serve_model_args("--model", "local/nope", "--port", "1")) == 1
    assert "Error: Unknown local model 'local/nope'" in capsys.readouterr().err


def test_n_ctx_and_threads_from_the_cli_reach_the_engine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loads: list[tuple[str, dict[str, Any]]] = []

    def load_without_weights(spec: LocalModelSpec, **options: Any) -> LocalEngine:
        loads.append((spec.name, options))
        raise LocalModelError("no weights in this test")

    monkeypatch.setattr(LocalEngine, "load", load_without_weights)

    assert run_serve_model(serve_model_args("--n-ctx", "4096", "--threads", "2", "--port", "1")) == 1
    assert run_serve_model(serve_model_args("--port", "1")) == 1

    assert loads == [(MODEL, {"n_ctx": 4096, "n_threads": 2}), (MODEL, {"n_ctx": None, "n_threads": None})]
    assert capsys.readouterr().err.count("Error: no weights in this test") == 2


@pytest.mark.parametrize("flag", ["--n-ctx", "--threads"])
@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_n_ctx_and_threads_refuse_anything_but_a_whole_number_from_1(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve_model_args(flag, value)
    assert exit_info.value.code == 2
    assert f"argument {flag}: {flag} must be a whole number >= 1, got {value!r}" in capsys.readouterr().err


def test_a_stopped_server_releases_its_port() -> None:
    server = BackgroundServer(CannedEngineDouble()).start()
    port = server.port
    server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
