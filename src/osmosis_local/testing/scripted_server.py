"""A real OpenAI-compatible HTTP server on loopback whose replies come from a Python callback.

Test double for models and judges: the runner and `evaluate_rubric` talk to it through litellm exactly as
they talk to a hosted provider (real sockets, real JSON, real status codes), while the test decides every
reply, delay and fault. It is stdlib-only (``http.server``) so it starts in milliseconds, and threaded so
concurrency tests and the benchmark can keep many requests in flight.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from osmosis_local.types import chat_completion_body


@dataclass
class ScriptedReply:
    """What the server answers to one request.

    ``body`` is sent as JSON (a str is sent verbatim); ``delay_s`` is the time from the request's arrival
    to the answer, the double's own work included (to inject latency or to hang past a client timeout);
    ``drop_connection`` closes the socket without a reply;
    ``cut_body_after`` sends the headers and only that many bytes of the body, then closes the connection
    (a reset mid-response); ``drip_s`` sends the body one byte at a time, ``drip_s`` seconds apart.
    """

    body: dict[str, Any] | str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_connection: bool = False
    cut_body_after: int | None = None
    drip_s: float = 0.0


Responder = Callable[[dict[str, Any]], "ScriptedReply | dict[str, Any]"]


def chat_completion(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    model: str = "scripted",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
) -> dict[str, Any]:
    """An OpenAI chat-completion response body with one choice; finish_reason follows the content."""
    return chat_completion_body(
        content=content,
        tool_calls=tool_calls,
        finish_reason=finish_reason or ("tool_calls" if tool_calls else "stop"),
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> dict[str, Any]:
    """Build one OpenAI ``tool_calls`` entry (arguments may be a raw string, e.g. malformed JSON)."""
    return {
        "id": call_id or f"call_{uuid.uuid4().hex[:10]}",
        "type": "function",
        "function": {
            "name": name,
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


class _Server(ThreadingHTTPServer):
    # The stdlib backlog of 5 drops connections when a benchmark keeps 32+ requests in flight.
    request_queue_size = 128


class ScriptedOpenAIServer:
    """Serve ``POST /v1/chat/completions`` from ``responder`` on 127.0.0.1 (a free port by default).

    Every request body is recorded in ``requests`` (with its ``Authorization`` header in
    ``auth_headers``) so tests can assert what the client sent.
    """

    def __init__(
        self,
        responder: Responder,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        routes: dict[str, Responder] | None = None,
    ) -> None:
        self.responder = responder
        self.routes = dict(routes or {})  # other POST paths (by suffix), each with its responder
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str | None] = []
        self.paths: list[str] = []  # every POST's path, query included
        self.route_requests: dict[str, list[dict[str, Any]]] = {suffix: [] for suffix in self.routes}
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL to hand to a client (``--base-url``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedOpenAIServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block serving requests (for the command-line entry point)."""
        self._httpd.serve_forever(poll_interval=0.05)

    def _record(self, body: dict[str, Any], auth: str | None) -> None:
        with self._lock:
            self.requests.append(body)
            self.auth_headers.append(auth)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: avoid a ~40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def _send(
                self,
                status: int,
                body: dict[str, Any] | str,
                headers: dict[str, str] | None = None,
                reply: ScriptedReply | None = None,
            ) -> None:
                raw = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    if reply is not None and reply.cut_body_after is not None:
                        self.wfile.write(raw[: reply.cut_body_after])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                    elif reply is not None and reply.drip_s:
                        for i in range(len(raw)):
                            self.wfile.write(raw[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip_s)
                    else:
                        self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up (e.g. its timeout fired): expected in fault tests

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                elif self.path.rstrip("/") in ("/health", "/v1/health"):
                    self._send(200, {"status": "ok"})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "request body is not JSON"}})
                    return
                path = self.path.split("?", 1)[0].rstrip("/")  # a query (``?api_key=``) does not change the route
                with server._lock:
                    server.paths.append(self.path)
                route = next((suffix for suffix in server.routes if path.endswith(suffix)), None)
                if route is None and not path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if route is None:
                    server._record(body, self.headers.get("Authorization"))
                else:
                    with server._lock:
                        server.route_requests[route].append(body)
                try:
                    reply = server.responder(body) if route is None else server.routes[route](body)
                except Exception as exc:  # a broken script is a 500, like a broken provider
                    self._send(500, {"error": {"message": f"scripted responder failed: {exc!r}"}})
                    return
                if not isinstance(reply, ScriptedReply):
                    reply = ScriptedReply(body=reply)
                if reply.delay_s:  # counted from the request's arrival, so the double's own work is inside it
                    time.sleep(max(0.0, reply.delay_s - (time.monotonic() - arrived)))
                if reply.drop_connection:
                    self.close_connection = True
                    return
                if reply.status >= 400 and reply.body is None:
                    reply.body = {"error": {"message": f"scripted HTTP {reply.status}", "code": reply.status}}
                self._send(reply.status, reply.body if reply.body is not None else {}, reply.headers, reply)

        return Handler
