"""TEST DOUBLE: a scripted "trainer" (TrainGate) for a RolloutServer under test, over real HTTP on 127.0.0.1.

It answers ``POST /v1/chat/completions`` from a responder (the scripted policy, or a fault) and records every
``POST /v1/rollout/completed`` body (or answers it with a programmed status). It checks nothing: the tests
do; trainer mode (`osmosis_local.rollout.trainer`) is the checking trainer.
"""

from __future__ import annotations

import threading
from typing import Any

from osmosis_local.testing.scripted_server import Responder, ScriptedOpenAIServer, ScriptedReply

COMPLETED = "/v1/rollout/completed"


class ScriptedTrainer:
    """``url`` is the ``server_url`` to put in an init; ``completions`` the results received, by rollout id."""

    def __init__(self, chat: Responder, *, completed_status: int = 200, port: int = 0) -> None:
        self.completed_status = completed_status
        self.completions: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self.http = ScriptedOpenAIServer(chat, port=port, routes={COMPLETED: self._completed})

    def _completed(self, body: dict[str, Any]) -> ScriptedReply:
        if self.completed_status >= 300:
            return ScriptedReply(status=self.completed_status)
        with self._arrived:
            self.completions[str(body.get("rollout_id"))] = body
            self._arrived.notify_all()
        return ScriptedReply(body={"status": "ok"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return self.http.requests

    @property
    def completed_requests(self) -> list[dict[str, Any]]:
        return self.http.route_requests[COMPLETED]

    def wait_for(self, rollout_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """The completion of ``rollout_id``, once it arrives (AssertionError after ``timeout_s``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: rollout_id in self.completions, timeout_s):
                raise AssertionError(f"no completion of {rollout_id!r} within {timeout_s} s")
            return self.completions[rollout_id]

    def __enter__(self) -> ScriptedTrainer:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()
