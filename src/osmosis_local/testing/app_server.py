"""Serve an ASGI app (a RolloutServer) with uvicorn on a free 127.0.0.1 port, in a thread, for tests and benchmarks.

``with AppServer(app) as server:`` gives ``server.url`` once the app accepts connections; leaving the block
stops it (the app's shutdown runs).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class AppServer:
    """A real HTTP server around ``app`` on loopback (uvicorn, one event loop in its own thread)."""

    def __init__(self, app: Any, *, port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
                                        name="app-server")  # fmt: skip

    def start(self, timeout_s: float = 20.0) -> AppServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        self._sock.close()

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
