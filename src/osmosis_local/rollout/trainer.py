"""Trainer mode: the trainer's two callback endpoints, on a loopback port, answering a RolloutServer.

`TrainerEndpoints` plays TrainGate for ``eval --rollout-server`` / ``test --rollout-server``: every init the
runner sends registers a `TrainerRollout` (its tools, the policy model that answers it, the history so far);
``POST /v1/chat/completions`` answers a turn from that model, with the tools the init returned (the wire
carries none), and ``POST /v1/rollout/completed`` hands the result back. Everything a server sends is
validated against the wire models; a server that breaks the contract (a body that does not parse, a wrong
key, an unknown rollout, earlier messages rewritten, a completion twice, no completion at all) is recorded as
a violation that names the rollout, and that run fails with it. aiohttp serves it (a fraction of a millisecond
per turn).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from osmosis_local.llm.base import ModelReply
from osmosis_local.llm.chat_model import ChatModel
from osmosis_local.llm.retry import LLMCallError
from osmosis_local.rollout.schemas import CompletionsRequest, MessageDict, RolloutResponse
from osmosis_local.types import Message, SamplingParams, ToolSpec

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

__all__ = ["TrainerEndpoints", "TrainerRollout"]

_DETAIL = 300


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _DETAIL else line[: _DETAIL - 3] + "..."


@dataclass
class TrainerRollout:
    """What the trainer knows of one rollout while the server runs it."""

    rollout_id: str
    model: ChatModel
    seed: int | None
    history: list[MessageDict]
    tools: list[ToolSpec] = field(default_factory=list)
    tools_ready: asyncio.Event = field(default_factory=asyncio.Event)  # set once the init's 202 is read
    completion: asyncio.Future[RolloutResponse] | None = None
    violations: list[str] = field(default_factory=list)
    llm_error: LLMCallError | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    num_llm_calls: int = 0

    def violation(self, text: str) -> None:
        self.violations.append(_short(text))


class TrainerEndpoints:
    """The callback endpoints of one eval (``start`` binds a free loopback port; ``url`` is the server_url)."""

    def __init__(self, *, api_key: str | None = None, host: str = "127.0.0.1") -> None:
        self.api_key = api_key or uuid.uuid4().hex
        self.host = host
        self.url = ""
        self.rollouts: dict[str, TrainerRollout] = {}
        self.stray: list[str] = []  # violations no rollout could be named for
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/rollout/completed", self._completed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://{self.host}:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def register(self, rollout_id: str, *, model: ChatModel, seed: int | None, messages: list[MessageDict]
                 ) -> TrainerRollout:  # fmt: skip
        rollout = TrainerRollout(rollout_id, model, seed, list(messages))
        rollout.completion = asyncio.get_running_loop().create_future()
        self.rollouts[rollout_id] = rollout
        return rollout

    def forget(self, rollout_id: str) -> None:
        self.rollouts.pop(rollout_id, None)

    # -- helpers ----------------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else header.strip()
        return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self.api_key.encode("utf-8"))

    @staticmethod
    def _error(status: int, text: str) -> web.Response:
        from aiohttp import web

        return web.json_response({"error": {"message": text}}, status=status)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _rollout_of(self, body: Any) -> TrainerRollout | None:
        rollout_id = body.get("rollout_id") if isinstance(body, dict) else None
        return self.rollouts.get(rollout_id) if isinstance(rollout_id, str) else None

    # -- POST /v1/chat/completions ----------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.Response:
        from aiohttp import web

        body = await self._body(request)
        rollout = self._rollout_of(body)
        where = f"rollout {rollout.rollout_id}" if rollout else "an LLM callback"
        if not self._authorised(request):
            self._record(rollout, f"{where}: the LLM callback did not send the init's api_key as a Bearer token")
            return self._error(401, "invalid or missing API key")
        try:
            turn = CompletionsRequest.model_validate(body)
        except ValidationError as exc:
            self._record(rollout, f"{where}: the LLM callback's body is not a CompletionsRequest: {_problems(exc)}")
            return self._error(422, f"not a CompletionsRequest: {_problems(exc)}")
        if rollout is None:
            self.stray.append(_short(f"an LLM callback named rollout {turn.rollout_id!r}, which was never started"))
            return self._error(404, f"unknown rollout {turn.rollout_id!r}")
        # A fast server may call back before the runner has read the init's 202: its tools must be known first.
        try:
            await asyncio.wait_for(rollout.tools_ready.wait(), timeout=60)
        except TimeoutError:
            return self._error(503, "the trainer has not read the init's answer yet")
        if rollout.completion is not None and rollout.completion.done():
            rollout.violation(f"rollout {rollout.rollout_id}: an LLM callback after the rollout was completed")
            return self._error(409, "the rollout is already completed")
        seen = rollout.history
        if turn.messages[: len(seen)] != seen:
            index = next((i for i, (a, b) in enumerate(zip(seen, turn.messages, strict=False)) if a != b),
                         min(len(seen), len(turn.messages)))  # fmt: skip
            rollout.violation(
                f"rollout {rollout.rollout_id}: the LLM callback's history changed earlier messages (message {index} "
                f"differs, or the history shrank from {len(seen)} to {len(turn.messages)} messages); it must only grow"
            )
            return self._error(400, "messages must extend the history (append-only)")
        params: SamplingParams = {"temperature": turn.temperature, "top_p": turn.top_p, "max_tokens": turn.max_tokens}
        messages = cast(list[Message], turn.messages)  # wire dicts: sent to the model as they came
        try:
            reply = await rollout.model.chat(messages, rollout.tools, seed=rollout.seed, params=params)
        except LLMCallError as exc:
            rollout.llm_error = rollout.llm_error or exc
            return self._error(424, f"the policy model failed: {exc.message}")  # a 4xx: the server does not retry
        rollout.num_llm_calls += 1
        rollout.prompt_tokens += reply.prompt_tokens
        rollout.completion_tokens += reply.completion_tokens
        rollout.history = [*turn.messages, dict(reply.message)]
        return web.json_response(_completion_body(reply))

    # -- POST /v1/rollout/completed ---------------------------------------------------------------------

    async def _completed(self, request: web.Request) -> web.Response:
        from aiohttp import web

        body = await self._body(request)
        rollout = self._rollout_of(body)
        where = f"rollout {rollout.rollout_id}" if rollout else "a completed callback"
        if not self._authorised(request):
            self._record(rollout, f"{where}: the completed callback did not send the init's api_key")
            return self._error(401, "invalid or missing API key")
        try:
            result = RolloutResponse.model_validate(body)
        except ValidationError as exc:
            self._record(rollout, f"{where}: the completed callback's body is not a RolloutResponse: {_problems(exc)}")
            if rollout is not None and rollout.completion is not None and not rollout.completion.done():
                rollout.completion.set_exception(ContractViolation(rollout.violations[-1]))
            return self._error(422, f"not a RolloutResponse: {_problems(exc)}")
        if rollout is None:
            self.stray.append(_short(f"a completed callback named rollout {result.rollout_id!r}, never started"))
            return self._error(404, f"unknown rollout {result.rollout_id!r}")
        assert rollout.completion is not None
        if rollout.completion.done():
            return web.json_response({"status": "ok", "note": "already completed"})  # a redelivery: harmless
        final = result.final_messages
        if result.status == "COMPLETED" and final[: len(rollout.history)] != rollout.history:
            rollout.violation(
                f"rollout {rollout.rollout_id}: final_messages do not extend the conversation the trainer answered "
                f"({len(rollout.history)} messages); earlier messages were changed or dropped"
            )
        rollout.completion.set_result(result)
        return web.json_response({"status": "ok"})

    def _record(self, rollout: TrainerRollout | None, text: str) -> None:
        if rollout is not None:
            rollout.violation(text)
        else:
            self.stray.append(_short(text))


class ContractViolation(Exception):
    """A rollout server broke the wire contract."""


def _problems(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3]]
    return _short("; ".join(parts))


def _completion_body(reply: ModelReply) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "default",
        "choices": [{"index": 0, "message": reply.message, "finish_reason": reply.finish_reason or "stop"}],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
