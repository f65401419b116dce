"""How hard a model call tries, and the one error a failed call becomes: `RetryPolicy` and `LLMCallError`.

Both transports (plain HTTP and litellm) and both callers (the runner and the judge) share these: transient
faults (429, timeouts, 5xx, a dropped connection, an unusable body) are retried with exponential backoff and
jitter, honouring ``Retry-After``; every other failure is one clear, key-free message plus a verdict:
*systemic* (auth, unknown model, unreachable endpoint: stop the batch, docs/contract.md §9) or *per-row*.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

DETAIL_LIMIT = 200  # characters of a provider's own message kept in an error


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in total, and the backoff envelope in seconds."""

    max_attempts: int = 4
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    max_retry_after_s: float = 60.0


NO_RETRY = RetryPolicy(max_attempts=1)
DEFAULT_RETRY = RetryPolicy()


class LLMCallError(Exception):
    """A provider call that failed for good (after retries), with a message safe to print."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        systemic: bool,
        retryable: bool,
        status_code: int | None = None,
        retry_after_s: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.systemic = systemic
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.attempts = attempts


# Told about each retry: (the error, the attempt that failed, seconds until the next one).
OnRetry = Callable[[LLMCallError, int, float], None]


def retry_delay(policy: RetryPolicy, exc: BaseException | None, attempt_number: int) -> float:
    """Seconds to wait after failed attempt ``attempt_number``: ``Retry-After`` if given, else backoff."""
    backoff = min(policy.max_wait_s, policy.initial_wait_s * 2 ** (attempt_number - 1))
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        return min(policy.max_retry_after_s, max(retry_after, 0.0)) + random.uniform(0, 0.1 * backoff)
    return random.uniform(0.5 * backoff, backoff)


def retrying_kwargs(policy: RetryPolicy, on_retry: OnRetry | None, *, attempts_done: int = 0) -> dict[str, Any]:
    """tenacity settings for the remaining attempts, when ``attempts_done`` were already made."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return retry_delay(policy, exc, state.attempt_number + attempts_done)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(exc, LLMCallError):
            on_retry(exc, state.attempt_number + attempts_done, state.upcoming_sleep)

    return {
        "stop": stop_after_attempt(max(1, policy.max_attempts - attempts_done)),
        "wait": wait,
        "retry": retry_if_exception(lambda e: isinstance(e, LLMCallError) and e.retryable),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def shortened(detail: str) -> str:
    """A provider detail cut to `DETAIL_LIMIT` characters."""
    return detail if len(detail) <= DETAIL_LIMIT else detail[: DETAIL_LIMIT - 3] + "..."
