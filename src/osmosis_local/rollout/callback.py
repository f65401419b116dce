"""The rollout server's side of the callbacks: one LLM turn and the final result, sent to the trainer.

`CallbackLLM` is the `RolloutLLM` of a rollout served over HTTP: ``POST {server_url}/v1/chat/completions`` with
``Authorization: Bearer <request.api_key>`` and the whole history, retried as the reference does (5xx, timeouts
and dropped connections, ``TRAINER_RETRIES`` times with backoff 1 s·2^n up to 30 s; never a 4xx), and
`deliver_completion` posts the `RolloutResponse` (``exclude_none``). One aiohttp session serves every rollout.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from osmosis_local.redaction import Redactor
from osmosis_local.rollout.base import CompletionsResult, LLMMetrics
from osmosis_local.rollout.schemas import CompletionsRequest, CompletionsResponse, MessageDict, RolloutResponse

TRAINER_RETRIES = 3
TRAINER_TIMEOUT_S = 300.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
_DETAIL = 300


class TrainerCallError(Exception):
    """A callback to the trainer that failed for good; ``retryable`` says whether trying later may work."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class CallbackPolicy:
    """How hard a callback tries: retries after the first attempt, the backoff envelope, the per-request timeout."""

    retries: int = TRAINER_RETRIES
    base_s: float = BACKOFF_BASE_S
    max_s: float = BACKOFF_MAX_S
    timeout_s: float = TRAINER_TIMEOUT_S

    def delay(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (0-based), with a little jitter so retries of many rollouts spread."""
        return min(self.max_s, self.base_s * 2**attempt) * random.uniform(0.9, 1.1)


CALLBACK_POLICY = CallbackPolicy()  # every LLM turn: 3 retries of 5xx/timeouts, as the reference
COMPLETION_POLICY = CallbackPolicy(retries=2)  # the completed callback: 2 retries, then kept and sent again later


def new_trainer_session(connections: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
        timeout=aiohttp.ClientTimeout(total=None),
    )


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    api_key: str | None,
    policy: CallbackPolicy,
    redact: Redactor,
    what: str,
) -> bytes:
    """POST with the reference's retry rules; the 2xx body, or `TrainerCallError` once it gives up."""
    last: TrainerCallError | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            await asyncio.sleep(policy.delay(attempt - 1))
        try:
            async with asyncio.timeout(policy.timeout_s):
                async with session.post(url, data=body, headers=_headers(api_key)) as response:
                    raw = await response.read()
                    status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            detail = redact(" ".join(str(exc).split()) or type(exc).__name__)[:_DETAIL]
            kind = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__}: {detail})"
            last = TrainerCallError(f"{what} to {url} {kind}", retryable=True)
            continue
        if status < 300:
            return raw
        detail = redact(" ".join(raw[:_DETAIL].decode("utf-8", "replace").split()))
        last = TrainerCallError(f"{what} to {url}: HTTP {status} {detail}", status=status, retryable=status >= 500)
        if status < 500:
            raise last
    assert last is not None
    raise last


class CallbackLLM:
    """`RolloutLLM` of a served rollout: the trainer answers each turn at ``{server_url}/v1/chat/completions``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        server_url: str,
        rollout_id: str,
        api_key: str | None,
        policy: CallbackPolicy = CALLBACK_POLICY,
    ) -> None:
        self._session = session
        self._url = server_url.rstrip("/") + "/v1/chat/completions"
        self._rollout_id = rollout_id
        self._api_key = api_key
        self._policy = policy
        self._redact = Redactor.of([api_key])
        self._metrics = LLMMetrics()

    async def chat_completions(self, messages: list[MessageDict], **params: Any) -> CompletionsResult:
        request = CompletionsRequest(rollout_id=self._rollout_id, messages=messages, **params)
        body = request.model_dump_json(exclude_none=True).encode("utf-8")
        started = time.perf_counter()
        raw = await post_json(self._session, self._url, body, api_key=self._api_key, policy=self._policy,
                              redact=self._redact, what="the LLM callback")  # fmt: skip
        try:
            answer = CompletionsResponse.model_validate_json(raw)
        except ValueError as exc:
            raise TrainerCallError(
                f"the trainer's answer to the LLM callback is not a chat completion: {str(exc)[:_DETAIL]}",
                retryable=False,
            ) from None
        choice = answer.choices[0]
        usage = answer.usage.model_dump() if answer.usage is not None else {}
        self._metrics.add((time.perf_counter() - started) * 1000, usage)
        return CompletionsResult(
            message=choice.message,
            token_ids=answer.token_ids or [],
            logprobs=answer.logprobs or [],
            usage=usage,
            finish_reason=choice.finish_reason,
        )

    def get_metrics(self) -> LLMMetrics:
        return self._metrics


async def deliver_completion(
    session: aiohttp.ClientSession,
    response: RolloutResponse,
    *,
    server_url: str,
    api_key: str | None,
    policy: CallbackPolicy,
) -> None:
    """POST the result to ``{server_url}/v1/rollout/completed``; `TrainerCallError` once it gives up."""
    body = json.dumps(response.model_dump(mode="json", exclude_none=True), default=str).encode("utf-8")
    url = server_url.rstrip("/") + "/v1/rollout/completed"
    await post_json(session, url, body, api_key=api_key, policy=policy, redact=Redactor.of([api_key]),
                    what="the completed callback")  # fmt: skip
