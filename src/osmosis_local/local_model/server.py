"""An OpenAI-compatible HTTP endpoint for the embedded model (`/v1/chat/completions`, `/v1/models`).

Why HTTP and not in-process calls: the runner and the judge already speak OpenAI through litellm,
so the local model becomes just another `openai/<name>` + `api_base`, with no special path in either
(and `osmosis-local serve-model` makes it usable from the real SDK via `--base-url`). Requests run
one at a time (the engine holds a lock): with 2 cores, callers should cap their concurrency at 1-2
for local models; extra requests simply queue. There is no authentication, so it binds to loopback
unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from typing import Any, Protocol

from osmosis_local.local_model.engine import EngineRequestError
from osmosis_local.local_model.errors import LocalModelError
from osmosis_local.local_model.registry import DEFAULT_LOCAL_MODEL, get_local_model

LOOPBACK = "127.0.0.1"
# The endpoint checks no key, but the OpenAI client (under litellm) refuses to send a request
# without one: callers pass this placeholder as `api_key`.
PLACEHOLDER_API_KEY = "osmosis-local-no-key"
STARTUP_TIMEOUT_S = 30.0


class ChatEngine(Protocol):
    """What the server needs: a model name and a blocking OpenAI chat completion."""

    model_name: str

    def chat_completion(self, request: dict[str, Any]) -> dict[str, Any]: ...


def _error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status_code=status)


def _accepts_model(requested: Any, served: str) -> bool:
    """The served name, or the same without its `local/` prefix; a missing name means "whatever runs"."""
    return requested in (None, "", served, served.removeprefix("local/"))


def create_app(engine: ChatEngine):
    """The Starlette app serving `engine`; blocking completions run in a worker thread."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat_completions(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        if not _accepts_model(body.get("model"), engine.model_name):
            return _error(404, f"The model {body.get('model')!r} does not exist; this server serves "
                          f"{engine.model_name!r}.", kind="not_found_error", code="model_not_found")
        try:
            return JSONResponse(await run_in_threadpool(engine.chat_completion, body))
        except EngineRequestError as exc:
            return _error(exc.status, str(exc), exc.kind, exc.code)
        except LocalModelError as exc:
            return _error(500, str(exc), "server_error")
        except Exception as exc:  # noqa: BLE001 - an OpenAI-shaped 500 beats a bare traceback page
            return _error(500, f"Internal error in the local model server: {type(exc).__name__}: {exc}",
                          "server_error")

    async def models(_: Request) -> JSONResponse:
        entry = {"id": engine.model_name, "object": "model", "created": 0, "owned_by": "osmosis-local"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": engine.model_name})

    return Starlette(routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ])


class BackgroundServer:
    """uvicorn serving an engine from a daemon thread on an already-bound loopback socket."""

    def __init__(self, engine: ChatEngine, host: str = LOOPBACK, port: int = 0) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(create_app(engine), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"local-model-http-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (`http://127.0.0.1:PORT/v1`)."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise LocalModelError(f"The local model endpoint on port {self.port} did not start.")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


_ENDPOINTS: dict[str, BackgroundServer] = {}
_ENDPOINTS_LOCK = threading.Lock()


def start_local_endpoint(model_name: str = DEFAULT_LOCAL_MODEL) -> str:
    """Load `model_name` and serve it on a free loopback port, once per process; return the base URL.

    Use it through litellm as `openai/<model_name>` with `api_base=<returned URL>` and
    `api_key=PLACEHOLDER_API_KEY` (no key is checked, but the OpenAI client insists on one).
    """
    with _ENDPOINTS_LOCK:
        server = _ENDPOINTS.get(model_name)
        if server is None:
            from osmosis_local.local_model.engine import LocalEngine

            engine = LocalEngine.load(get_local_model(model_name))
            server = _ENDPOINTS[model_name] = BackgroundServer(engine).start()
        return server.base_url


def serve_model(model_name: str = DEFAULT_LOCAL_MODEL, host: str = LOOPBACK, port: int = 8000, *,
                n_ctx: int | None = None, threads: int | None = None) -> None:
    """Serve the model until interrupted (the `osmosis-local serve-model` command)."""
    import uvicorn

    from osmosis_local.local_model.engine import LocalEngine

    spec = get_local_model(model_name)
    engine = LocalEngine.load(spec, n_ctx=n_ctx, n_threads=threads)
    base = f"http://{host}:{port}/v1"
    print(f"Serving {spec.name} at {base} (loaded in {engine.load_seconds:.1f}s, context {engine.n_ctx}).",
          file=sys.stderr)
    print(f"Use it with: --model {spec.name} --base-url {base}", file=sys.stderr)
    if host not in (LOOPBACK, "localhost", "::1"):
        print(f"Warning: {host} is not loopback and this endpoint has no authentication.", file=sys.stderr)
    uvicorn.run(create_app(engine), host=host, port=port, log_level="warning", lifespan="off")


def run_serve_model(args: argparse.Namespace) -> int:
    """Run `serve-model` from the arguments `osmosis-local serve-model` parsed (declared in
    `osmosis_local.cli.serve_command`: model, host, port, n_ctx, threads; None means the default);
    print a one-line error and return 1 on failure."""
    try:
        serve_model(args.model, args.host, args.port, n_ctx=args.n_ctx, threads=args.threads)
    except (LocalModelError, ValueError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
