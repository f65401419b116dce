"""Several replicas of one served model (`--base-url` given more than once), behind the `ModelClient` seam.

Each request goes to the replica with the fewest requests in flight. A replica that refuses connections, drops
them, times out or answers 5xx is taken out of rotation for a cool-down (doubling while it keeps failing, up to
`MAX_COOLDOWN_S`) and the request is tried on the next replica at once; when its cool-down is over it gets
requests again, and its first answer puts it back for good. Only when every replica is out does the request
wait (the retry policy's backoff) and, after the last attempt, fail as systemic: the eval stops only when the
whole model is down. Per-replica request and failure counts are kept for the results (`stats`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from osmosis_local.llm.base import ModelClient, ModelReply
from osmosis_local.llm.retry import DEFAULT_RETRY, NO_RETRY, LLMCallError, OnRetry, RetryPolicy, retry_delay
from osmosis_local.types import CompletionRequest

__all__ = ["ReplicaRouter", "ReplicaStats", "COOLDOWN_S", "MAX_COOLDOWN_S"]

COOLDOWN_S = 1.0
MAX_COOLDOWN_S = 30.0
_REPLICA_FAULTS = frozenset({"connection", "connection_dropped", "timeout"})


def is_replica_fault(exc: LLMCallError) -> bool:
    """The replica is the problem (down, overloaded, broken), not the request: another replica may answer."""
    return exc.kind in _REPLICA_FAULTS or (exc.status_code is not None and exc.status_code >= 500)


@dataclass
class ReplicaStats:
    """One replica's figures: requests sent, how many failed at the replica, how often it was taken out."""

    url: str
    requests: int = 0
    failures: int = 0
    taken_out: int = 0
    in_flight: int = 0
    down_until: float = 0.0
    consecutive: int = 0

    def up(self, now: float) -> bool:
        return self.down_until <= now

    def failed(self, now: float) -> None:
        self.failures += 1
        self.consecutive += 1
        if self.up(now):
            self.taken_out += 1
        self.down_until = now + min(MAX_COOLDOWN_S, COOLDOWN_S * 2 ** (self.consecutive - 1))

    def answered(self) -> None:
        self.consecutive = 0
        self.down_until = 0.0


class ReplicaRouter(ModelClient):
    """Requests spread over ``urls`` (each the same model) through ``inner``; see the module docstring."""

    def __init__(self, inner: ModelClient, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("a ReplicaRouter needs at least one URL")
        self.inner = inner
        self.transport = inner.transport
        self.replicas = [ReplicaStats(url) for url in urls]

    def stats(self) -> list[ReplicaStats]:
        return list(self.replicas)

    def _pick(self, tried: set[str]) -> ReplicaStats | None:
        now = time.monotonic()
        ready = [r for r in self.replicas if r.url not in tried and r.up(now)]
        return min(ready, key=lambda r: (r.in_flight, r.requests)) if ready else None

    def _all_down(self) -> LLMCallError:
        return LLMCallError(f"every replica of the model is down ({len(self.replicas)})", kind="connection",
                            systemic=True, retryable=False)  # fmt: skip

    async def acomplete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        last: LLMCallError | None = None
        for attempt in range(1, policy.max_attempts + 1):
            tried: set[str] = set()
            while (replica := self._pick(tried)) is not None:
                tried.add(replica.url)
                replica.in_flight += 1
                replica.requests += 1
                try:
                    reply = await self.inner.acomplete({**request, "api_base": replica.url}, policy=NO_RETRY,
                                                       secrets=secrets)  # fmt: skip
                except LLMCallError as exc:
                    last = exc
                    if is_replica_fault(exc):
                        replica.failed(time.monotonic())
                        continue  # the next replica, at once
                    if not exc.retryable:
                        raise
                    break  # e.g. 429: back off, then any replica
                finally:
                    replica.in_flight -= 1
                replica.answered()
                return reply
            if attempt < policy.max_attempts:
                delay = retry_delay(policy, last, attempt) if last is not None else COOLDOWN_S
                if on_retry is not None and last is not None:
                    on_retry(last, attempt, delay)
                await asyncio.sleep(delay)
        if last is None or is_replica_fault(last):
            error = self._all_down()
            if last is not None:
                error = LLMCallError(f"{error.message}; the last error: {last.message}", kind=last.kind, systemic=True,
                                     retryable=False, status_code=last.status_code)  # fmt: skip
            error.attempts = policy.max_attempts
            raise error
        raise last

    def complete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        """The blocking call (a one-off, e.g. a judge): the first replica that answers."""
        last: LLMCallError | None = None
        for replica in self.replicas:
            try:
                return self.inner.complete({**request, "api_base": replica.url}, policy=policy, secrets=secrets,
                                           on_retry=on_retry)  # fmt: skip
            except LLMCallError as exc:
                if not is_replica_fault(exc):
                    raise
                last = exc
        assert last is not None
        raise last

    async def aclose(self) -> None:
        await self.inner.aclose()
