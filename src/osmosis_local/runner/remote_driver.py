"""Trainer mode (``eval --rollout-server URL``): the runner drives a RolloutServer over real HTTP, as the
platform's trainer would.

For each (row, run) it registers the rollout with its `TrainerEndpoints`, sends ``POST /v1/rollout/init`` with
the row's messages and metadata, a callback URL on loopback and a key for the callbacks, keeps the tools the
202 returns (the LLM callbacks carry none), answers every turn from the policy model, and waits for the
completed callback (at most ``rollout_deadline`` seconds). The final messages are scored by the eval
functions; the server's own reward is recorded beside the scores. A server that cannot be reached stops the
eval (systemic); one that breaks the wire contract fails that run with a message naming the violation and
the rollout.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from pydantic import ValidationError

from osmosis_local.config.settings import RunConfig
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.errors import SetupError
from osmosis_local.llm.chat_model import ChatModel
from osmosis_local.rollout.schemas import InitResponse
from osmosis_local.rollout.tool_shapes import widen_tool
from osmosis_local.rollout.trainer import ContractViolation, TrainerEndpoints, TrainerRollout
from osmosis_local.runner.agent_loop import RolloutOutcome, StepHook, ToolsHook
from osmosis_local.runner.drivers import Command, outcome_of_result, rollout_request
from osmosis_local.types import ToolSpec

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

_DETAIL = 300


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _DETAIL else line[: _DETAIL - 3] + "..."


async def check_rollout_server(session: aiohttp.ClientSession, url: str, api_key: str | None) -> str:
    """The server's agent loop name from ``GET /health``; a `SetupError` when it cannot be used."""
    import aiohttp

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with asyncio.timeout(10):
            async with session.get(url.rstrip("/") + "/health", headers=headers) as response:
                status, body = response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise SetupError(f"Cannot reach the RolloutServer at {url}: {_short(str(exc) or type(exc).__name__)} "
                         "(start it with `osmosis-local serve -m server:agent_loop`)") from None  # fmt: skip
    if status != 200:
        raise SetupError(f"The RolloutServer at {url} answered GET /health with HTTP {status}: {_short(body.decode())}")
    import json

    try:
        health = json.loads(body)
    except ValueError:
        health = None
    if not isinstance(health, dict) or health.get("status") != "healthy":
        text = _short(body.decode("utf-8", "replace"))
        raise SetupError(f"{url}/health is not a RolloutServer's health answer: {text}")
    return str(health.get("agent_loop") or "?")


class RemoteDriver:
    """`RolloutDriver` of ``--rollout-server``."""

    def __init__(
        self,
        config: RunConfig,
        *,
        session: aiohttp.ClientSession,
        endpoints: TrainerEndpoints,
        agent_name: str,
    ) -> None:
        assert config.rollout_server is not None
        self.config = config
        self.server_url = config.rollout_server.rstrip("/")
        self.server_key = config.rollout_server_key.get_secret_value() if config.rollout_server_key else None
        self.session = session
        self.endpoints = endpoints
        self.agent_name = agent_name
        self.tools: list[ToolSpec] = []  # known per rollout only (the init's 202)
        self.warnings: list[str] = []

    async def _init(self, request_json: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if self.server_key:
            headers["Authorization"] = f"Bearer {self.server_key}"
        async with asyncio.timeout(60):
            async with self.session.post(f"{self.server_url}/v1/rollout/init", data=request_json,
                                         headers=headers) as response:  # fmt: skip
                return response.status, await response.read()

    async def run(
        self,
        row: DatasetRow,
        *,
        model: ChatModel,
        tag: str,
        seed: int | None,
        run_index: int,
        command: Command,
        on_step: StepHook | None = None,
        on_tools: ToolsHook | None = None,
    ) -> RolloutOutcome:
        import aiohttp

        started = time.perf_counter()
        try:
            request = rollout_request(row, self.config, command=command, run_index=run_index, tag=tag,
                                      server_url=self.endpoints.url, api_key=self.endpoints.api_key,
                                      idempotency_key=uuid.uuid4().hex)  # fmt: skip
        except ValidationError as exc:
            return self._failed(None, f"the row cannot be sent to the rollout server: {_short(str(exc))}", started)
        rollout = self.endpoints.register(request.rollout_id, model=model, seed=seed, messages=request.messages)
        rid = request.rollout_id
        try:
            try:
                status, body = await self._init(request.model_dump_json(exclude_none=True).encode("utf-8"))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                detail = _short(str(exc) or type(exc).__name__)
                return self._failed(rollout, f"Cannot reach the RolloutServer at {self.server_url}: {detail}", started,
                                    systemic=True)  # fmt: skip
            if status != 202:
                text = _short(body.decode("utf-8", "replace"))
                return self._failed(rollout, f"wire contract: rollout {rid}: the init was answered HTTP {status} "
                                             f"(202 expected): {text}", started)  # fmt: skip
            try:
                init = InitResponse.model_validate_json(body)
            except ValidationError as exc:
                return self._failed(rollout, f"wire contract: rollout {rid}: the init's 202 is not "
                                             f"{{rollout_id, tools}}: {_short(str(exc))}", started)  # fmt: skip
            if init.rollout_id != rid:
                rollout.violation(f"rollout {rid}: the init's 202 names rollout {init.rollout_id!r}")
            rollout.tools = [widen_tool(t) for t in init.tools]
            rollout.tools_ready.set()
            try:
                async with asyncio.timeout(self.config.rollout_deadline):
                    assert rollout.completion is not None
                    result = await asyncio.shield(rollout.completion)
            except TimeoutError:
                return self._failed(rollout, f"wire contract: rollout {rid}: no completed callback within "
                                             f"{self.config.rollout_deadline:g} s", started)  # fmt: skip
            except ContractViolation as exc:
                return self._failed(rollout, f"wire contract: {exc}", started)
        finally:
            rollout.tools_ready.set()
            self.endpoints.forget(rid)
        error = result.error_message if result.status == "ERROR" else None
        if rollout.llm_error is not None and result.status == "ERROR":
            error = rollout.llm_error.message
        if rollout.violations:
            error = "wire contract: " + "; ".join(rollout.violations)
        return outcome_of_result(
            result.final_messages, status=result.status.value if not rollout.violations else "ERROR",
            finish_reason=result.finish_reason, error=error, reward=result.reward,
            prompt_tokens=rollout.prompt_tokens, completion_tokens=rollout.completion_tokens,
            num_llm_calls=rollout.num_llm_calls, duration_ms=(time.perf_counter() - started) * 1000,
            systemic=rollout.llm_error is not None and rollout.llm_error.systemic,
        )  # fmt: skip

    def _failed(self, rollout: TrainerRollout | None, error: str, started: float, *, systemic: bool = False
                ) -> RolloutOutcome:  # fmt: skip
        history = list(rollout.history) if rollout is not None else []
        if rollout is not None and rollout.violations and not error.startswith("wire contract"):
            error = f"{error}; wire contract: " + "; ".join(rollout.violations)
        return outcome_of_result(
            history, status="ERROR", finish_reason="error", error=error, reward=None,
            prompt_tokens=rollout.prompt_tokens if rollout else 0,
            completion_tokens=rollout.completion_tokens if rollout else 0,
            num_llm_calls=rollout.num_llm_calls if rollout else 0,
            duration_ms=(time.perf_counter() - started) * 1000,
            systemic=systemic or (rollout is not None and rollout.llm_error is not None and rollout.llm_error.systemic),
        )  # fmt: skip
