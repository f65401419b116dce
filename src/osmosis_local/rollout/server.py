"""The RolloutServer's state and rules (`RolloutServer`); `osmosis_local.rollout.app.create_app` serves it (FastAPI).

Endpoints (docs/contract.md §12):

- ``POST /v1/rollout/init`` → ``202 {rollout_id, tools}`` at once; the loop runs in the background, at most
  ``max_concurrent`` at a time. A bad body is a 422 and never reaches the loop. A duplicate init (same
  ``idempotency_key``, else the same ``rollout_id``), even racing the first, waits for and returns the first
  202 and starts nothing; a different init reusing a running ``rollout_id`` is a 409. Inits are remembered for
  ``record_ttl_s`` after they finish.
- With an API key, init needs ``Authorization: Bearer <key>`` (a raw token is accepted too), compared in
  constant time, else 401.
- ``GET /health`` (and ``GET /platform/health`` behind the key; 404 without one): the counts below.

Where the reference is weak, this server does better (weak spots 1–3):

- a loop that raises, times out (``rollout_timeout_s``), or returns something else than a `RolloutResult`
  still sends ``ERROR`` with the transcript so far (`RolloutContext.partial_messages`);
- a completed callback that still fails after its retries is kept (in memory and, with a debug folder, as a
  JSON file under ``<debug_dir>/undelivered/``), logged, counted in ``/health`` (``undelivered_completions``)
  and sent again every ``redeliver_interval_s`` until the trainer takes it: never silently dropped;
- a rollout id never escapes the debug folder (`debug_file_name`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osmosis_local.redaction import Redactor
from osmosis_local.rollout.base import RolloutAgentLoop, RolloutContext, debug_file_name
from osmosis_local.rollout.callback import (
    CALLBACK_POLICY,
    COMPLETION_POLICY,
    CallbackLLM,
    CallbackPolicy,
    TrainerCallError,
    deliver_completion,
    new_trainer_session,
)
from osmosis_local.rollout.schemas import (
    InitResponse,
    OpenAIFunctionToolSchema,
    RolloutMetrics,
    RolloutRequest,
    RolloutResponse,
    RolloutStatus,
)

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

logger = logging.getLogger("osmosis_local.rollout.server")

DEFAULT_MAX_CONCURRENT = 100
DEFAULT_RECORD_TTL_S = 3600.0
DEFAULT_REDELIVER_INTERVAL_S = 30.0
ERROR_CHARS = 2000


@dataclass
class _Init:
    """One accepted init: its 202 (once known), and when it finished."""

    answer: asyncio.Future[InitResponse]
    rollout_id: str
    idempotency_key: str | None
    finished_at: float | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class _Undelivered:
    response: RolloutResponse
    server_url: str
    api_key: str | None = field(repr=False)
    error: str
    attempts: int = 1
    rejected: bool = False  # the trainer answered 4xx: kept, but not sent again


@dataclass
class ServerCounts:
    """What ``/health`` reports."""

    active_rollouts: int = 0
    queued_rollouts: int = 0
    completed_rollouts: int = 0
    failed_rollouts: int = 0
    undelivered_completions: int = 0


class RolloutServer:
    """The state behind the app: accepted inits, running loops, undelivered completions."""

    def __init__(
        self,
        agent_loop: RolloutAgentLoop,
        *,
        api_key: str | None = None,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        debug_dir: str | Path | None = None,
        record_ttl_s: float = DEFAULT_RECORD_TTL_S,
        rollout_timeout_s: float | None = None,
        callback_policy: CallbackPolicy = CALLBACK_POLICY,
        completion_policy: CallbackPolicy = COMPLETION_POLICY,
        redeliver_interval_s: float = DEFAULT_REDELIVER_INTERVAL_S,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.agent_loop = agent_loop
        self.api_key = api_key or None
        self.debug_dir = Path(debug_dir) if debug_dir is not None else None
        self.record_ttl_s = record_ttl_s
        self.rollout_timeout_s = rollout_timeout_s
        self.callback_policy = callback_policy
        self.completion_policy = completion_policy
        self.redeliver_interval_s = redeliver_interval_s
        self.counts = ServerCounts()
        self.undelivered: dict[str, _Undelivered] = {}
        self._max_concurrent = max_concurrent
        self._gate: asyncio.Semaphore | None = None
        self._inits: dict[str, _Init] = {}
        self._session: aiohttp.ClientSession | None = None
        self._redeliverer: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._gate = asyncio.Semaphore(self._max_concurrent)
        self._session = new_trainer_session()
        self._redeliverer = asyncio.create_task(self._redeliver_forever())

    async def stop(self) -> None:
        """Stop: running loops are cancelled (each still sends its ERROR, best effort), then one last try for
        what is undelivered."""
        tasks = [i.task for i in self._inits.values() if i.task is not None and not i.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        if self._redeliverer is not None:
            self._redeliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._redeliverer
        await self._redeliver_once()
        if self._session is not None:
            await self._session.close()
        if self.undelivered:
            logger.error("%d completion(s) were never delivered; see %s", len(self.undelivered),
                         self._spool_dir() or "the log above")  # fmt: skip

    # -- auth -----------------------------------------------------------------------------------------

    def authorised(self, header: str | None) -> bool:
        """True without a server key; else when ``Authorization`` is ``Bearer <key>`` or the raw key."""
        if self.api_key is None:
            return True
        if not header:
            return False
        token = header[7:].strip() if header[:7].lower() == "bearer " else header.strip()
        return hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self.api_key.encode("utf-8"))

    # -- init -----------------------------------------------------------------------------------------

    def _forget_old(self) -> None:
        now = time.monotonic()
        ttl = self.record_ttl_s
        stale = [k for k, i in self._inits.items() if i.finished_at is not None and now - i.finished_at > ttl]
        for key in stale:
            del self._inits[key]

    def _running_with_id(self, rollout_id: str) -> _Init | None:
        for init in self._inits.values():
            if init.rollout_id == rollout_id and init.finished_at is None:
                return init
        return None

    async def init(self, request: RolloutRequest) -> InitResponse:
        """Accept a rollout (or answer a duplicate as its first init was answered); raises `ConflictError`."""
        self._forget_old()
        key = request.idempotency_key or request.rollout_id
        existing = self._inits.get(key)
        if existing is not None:
            return await asyncio.shield(existing.answer)
        if self._running_with_id(request.rollout_id) is not None:
            raise ConflictError(f"rollout {request.rollout_id!r} is already running under another idempotency key")
        record = _Init(asyncio.get_running_loop().create_future(), request.rollout_id, request.idempotency_key)
        self._inits[key] = record  # before any await: a racing duplicate finds it
        try:
            tools = [_as_tool(t) for t in self.agent_loop.get_tools(request)]
        except Exception as exc:
            del self._inits[key]
            record.answer.set_exception(ToolsError(f"get_tools failed: {type(exc).__name__}: {exc}"))
            record.answer.exception()  # retrieved: a failed init is reported to its caller only
            raise ToolsError(f"get_tools failed: {type(exc).__name__}: {exc}") from exc
        answer = InitResponse(rollout_id=request.rollout_id, tools=tools)
        record.answer.set_result(answer)
        self.counts.queued_rollouts += 1
        self._event(request, "server_init", tools=[t.function.name for t in tools], max_turns=request.max_turns)
        record.task = asyncio.create_task(self._run(request, tools, record))
        return answer

    # -- one rollout ----------------------------------------------------------------------------------

    async def _run(self, request: RolloutRequest, tools: list[OpenAIFunctionToolSchema], record: _Init) -> None:
        assert self._gate is not None and self._session is not None
        ctx: RolloutContext | None = None
        try:
            async with self._gate:
                self.counts.queued_rollouts -= 1
                self.counts.active_rollouts += 1
                try:
                    llm = CallbackLLM(self._session, server_url=request.server_url, rollout_id=request.rollout_id,
                                      api_key=request.api_key, policy=self.callback_policy)  # fmt: skip
                    ctx = RolloutContext(request, tools, llm, debug_dir=self._debug_dir())
                    response = await self._outcome(ctx)
                finally:
                    self.counts.active_rollouts -= 1
        except asyncio.CancelledError:
            response = _error_response(request.rollout_id, ctx, "the rollout server shut down during the rollout")
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._deliver(request, response)
            raise
        finally:
            record.finished_at = time.monotonic()
        if response.status is RolloutStatus.COMPLETED:
            self.counts.completed_rollouts += 1
        else:
            self.counts.failed_rollouts += 1
        await self._deliver(request, response)

    async def _outcome(self, ctx: RolloutContext) -> RolloutResponse:
        """Run the loop; whatever happens, a `RolloutResponse` that keeps the transcript so far."""
        rollout_id = ctx.request.rollout_id
        try:
            async with asyncio.timeout(self.rollout_timeout_s):
                result = await self.agent_loop.run(ctx)
        except TimeoutError:
            return _error_response(rollout_id, ctx, f"the agent loop ran past the rollout deadline of "
                                                    f"{self.rollout_timeout_s:g} s")  # fmt: skip
        except TrainerCallError as exc:
            return _error_response(rollout_id, ctx, f"the LLM callback failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - any failure of user code is this rollout's ERROR
            logger.warning("agent loop %s failed on rollout %r", self.agent_loop.name, rollout_id[:80], exc_info=True)
            return _error_response(rollout_id, ctx, f"the agent loop raised {type(exc).__name__}: {exc}")
        return _response_of(rollout_id, ctx, result)

    async def _deliver(self, request: RolloutRequest, response: RolloutResponse) -> None:
        assert self._session is not None
        try:
            await deliver_completion(self._session, response, server_url=request.server_url, api_key=request.api_key,
                                     policy=self.completion_policy)  # fmt: skip
        except TrainerCallError as exc:
            self._keep(request, response, exc)
            return
        self._event(request, "server_completed", status=response.status.value, finish_reason=response.finish_reason)

    def _keep(self, request: RolloutRequest, response: RolloutResponse, exc: TrainerCallError) -> None:
        error = Redactor.of([request.api_key])(str(exc))
        self.undelivered[request.rollout_id] = _Undelivered(response, request.server_url, request.api_key, error,
                                                            rejected=not exc.retryable)  # fmt: skip
        self.counts.undelivered_completions = len(self.undelivered)
        again = "not sent again (the trainer refused it)" if not exc.retryable else (
            f"sent again every {self.redeliver_interval_s:g} s")
        logger.error("completion of rollout %r NOT delivered: %s; kept and %s", request.rollout_id[:80], error, again)
        self._event(request, "server_undelivered", error=error, retried=exc.retryable)
        spool = self._spool_dir()
        if spool is not None:
            try:
                spool.mkdir(parents=True, exist_ok=True)
                (spool / debug_file_name(request.rollout_id).replace(".jsonl", ".json")).write_text(
                    json.dumps({"server_url": request.server_url, "error": error,
                                "response": response.model_dump(mode="json", exclude_none=True)}, default=str),
                    encoding="utf-8", errors="backslashreplace",
                )  # fmt: skip
            except OSError as write_error:
                logger.error("could not keep the completion of %r on disk: %s", request.rollout_id[:80], write_error)

    async def _redeliver_once(self) -> None:
        assert self._session is not None
        for rollout_id, item in list(self.undelivered.items()):
            if item.rejected:
                continue
            item.attempts += 1
            try:
                await deliver_completion(self._session, item.response, server_url=item.server_url,
                                         api_key=item.api_key, policy=CallbackPolicy(retries=0))  # fmt: skip
            except TrainerCallError as exc:
                item.error = Redactor.of([item.api_key])(str(exc))
                item.rejected = not exc.retryable
                continue
            del self.undelivered[rollout_id]
            logger.warning("completion of rollout %r delivered on attempt %d", rollout_id[:80], item.attempts)
            spool = self._spool_dir()
            if spool is not None:
                with contextlib.suppress(OSError):
                    (spool / debug_file_name(rollout_id).replace(".jsonl", ".json")).unlink()
        self.counts.undelivered_completions = len(self.undelivered)

    async def _redeliver_forever(self) -> None:
        while True:
            await asyncio.sleep(self.redeliver_interval_s)
            await self._redeliver_once()

    # -- debug log ------------------------------------------------------------------------------------

    def _debug_dir(self) -> Path | None:
        return self.debug_dir

    def _spool_dir(self) -> Path | None:
        return self.debug_dir / "undelivered" if self.debug_dir is not None else None

    def _event(self, request: RolloutRequest, event: str, **data: Any) -> None:
        if self.debug_dir is not None:
            RolloutContext(request, [], _NoLLM(), debug_dir=self.debug_dir).log_event(event, **data)

    def health(self) -> dict[str, Any]:
        c = self.counts
        return {
            "status": "healthy",
            "agent_loop": self.agent_loop.name,
            "active_rollouts": c.active_rollouts,
            "completed_rollouts": c.completed_rollouts,
            "queued_rollouts": c.queued_rollouts,
            "failed_rollouts": c.failed_rollouts,
            "undelivered_completions": c.undelivered_completions,
        }


class ConflictError(Exception):
    """An init that reuses the id of a running rollout under another idempotency key."""


class ToolsError(Exception):
    """The agent loop's ``get_tools`` failed."""


class _NoLLM:
    async def chat_completions(self, messages: list[dict[str, Any]], **params: Any) -> Any:
        raise RuntimeError("no LLM here")

    def get_metrics(self) -> Any:
        from osmosis_local.rollout.base import LLMMetrics

        return LLMMetrics()


def _as_tool(tool: Any) -> OpenAIFunctionToolSchema:
    """A tool from ``get_tools`` (our model, another package's model of the same shape, or a dict)."""
    if isinstance(tool, OpenAIFunctionToolSchema):
        return tool
    if hasattr(tool, "model_dump"):
        tool = tool.model_dump()
    return OpenAIFunctionToolSchema.model_validate(tool)


def _metrics_of(ctx: RolloutContext | None, result: Any = None) -> RolloutMetrics | None:
    metrics = getattr(result, "metrics", None)
    if metrics is not None:
        return RolloutMetrics.model_validate(metrics.model_dump() if hasattr(metrics, "model_dump") else metrics)
    return ctx.metrics() if ctx is not None else None


def _error_response(rollout_id: str, ctx: RolloutContext | None, message: str) -> RolloutResponse:
    return RolloutResponse(
        rollout_id=rollout_id,
        status=RolloutStatus.ERROR,
        final_messages=ctx.partial_messages if ctx is not None else [],
        finish_reason="error",
        error_message=message[:ERROR_CHARS],
        metrics=_metrics_of(ctx),
    )


def _response_of(rollout_id: str, ctx: RolloutContext, result: Any) -> RolloutResponse:
    """The loop's result as the completed callback; a result that is not one, or is broken, is an ERROR."""
    status = getattr(result, "status", None)
    status = getattr(status, "value", status)
    if status not in ("COMPLETED", "ERROR") or not isinstance(getattr(result, "final_messages", None), list):
        return _error_response(rollout_id, ctx, f"run() returned {type(result).__name__}, not a RolloutResult "
                                                "(end it with `return ctx.complete(messages)`)")  # fmt: skip
    reward = getattr(result, "reward", None)
    if reward is not None:
        try:
            reward = float(reward)
        except (TypeError, ValueError, OverflowError):
            reward = math.nan
        if not math.isfinite(reward):
            return _error_response(rollout_id, ctx, f"the reward {getattr(result, 'reward', None)!r} is not a finite "
                                                    "number")  # fmt: skip
    messages = [m for m in result.final_messages if isinstance(m, dict)]
    if len(messages) != len(result.final_messages):
        return _error_response(rollout_id, ctx, "final_messages holds entries that are not message objects")
    return RolloutResponse(
        rollout_id=rollout_id,
        status=RolloutStatus(status),
        final_messages=messages,
        finish_reason=getattr(result, "finish_reason", None) or ("stop" if status == "COMPLETED" else "error"),
        error_message=getattr(result, "error_message", None),
        reward=reward,
        metrics=_metrics_of(ctx, result),
    )
