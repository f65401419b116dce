"""One chat-completion call through litellm, with retries and a verdict on failures.

Both the agent loop and the judge need the same two things from a provider call: transient faults
(429, timeouts, 5xx) retried with exponential backoff and jitter, honouring ``Retry-After``; and every
other failure turned into one clear, key-free message plus a verdict — *systemic* (auth, unknown model,
unreachable endpoint: stop the batch, docs/contract.md §9) or *per-row* (record it and go on).
litellm's and the OpenAI client's own retries are switched off so this is the only retry layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from osmosis_local import _env  # noqa: F401  (offline defaults before litellm loads)
from osmosis_local.redaction import Redactor

DETAIL_LIMIT = 200

# Nothing answers: the endpoint is down or the address is wrong (systemic once the retries run out).
_UNREACHABLE_TEXT = re.compile(
    r"connection refused|could not connect|name or service not known|nodename nor servname|"
    r"failed to establish|network is unreachable|no route to host|connect call failed|cannot connect",
    re.IGNORECASE,
)
# The connection broke during one request: transient, retried like a 5xx.
_DROPPED_TEXT = re.compile(
    r"connection (reset|aborted|error)|server disconnected|remote ?protocol|incomplete|peer closed|"
    r"broken pipe|eof occurred|response ended prematurely|chunked|payload",
    re.IGNORECASE,
)
_UNREACHABLE_CAUSES = frozenset({"ConnectError", "ConnectionRefusedError", "gaierror", "ClientConnectorError"})
_DROPPED_CAUSES = frozenset(
    {"RemoteProtocolError", "ReadError", "WriteError", "ConnectionResetError", "ServerDisconnectedError",
     "ClientPayloadError", "IncompleteRead", "BrokenPipeError"}
)  # fmt: skip


def _cause_names(exc: BaseException) -> set[str]:
    """Type names along the exception's cause/context chain (the transport error behind a provider error)."""
    names: set[str] = set()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.add(type(current).__name__)
        current = current.__cause__ or current.__context__
    return names


_NOT_JSON_TEXT = re.compile(r"jsondecodeerror|expecting value|invalid json|not valid json|unterminated string", re.I)


_MISSING_KEY_TEXT = re.compile(r"missing credentials|api_key client option must be set|no api key", re.IGNORECASE)


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


def redact(text: str, secrets: Sequence[str | None]) -> str:
    """Replace every known secret (API keys) in ``text`` so it can be printed or stored."""
    return Redactor.of(secrets)(text)


def _retry_after_seconds(exc: BaseException) -> float | None:
    headers: Any = getattr(exc, "headers", None) or getattr(exc, "litellm_response_headers", None)
    response = getattr(exc, "response", None)
    if not headers and response is not None:
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def classify(exc: BaseException, *, secrets: Sequence[str | None] = ()) -> LLMCallError:
    """Map a litellm/OpenAI exception to an `LLMCallError` with a hint, a verdict and a short detail."""
    if isinstance(exc, LLMCallError):
        return exc
    if isinstance(exc, TimeoutError):  # the whole-request deadline around the call
        return LLMCallError("LLM request timed out (no complete answer within the timeout)", kind="timeout",
                            systemic=False, retryable=True)  # fmt: skip
    import litellm

    litellm.suppress_debug_info = True
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    raw = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    detail = redact(raw, secrets).replace("\n", " ").strip()
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 3] + "..."
    retry_after = _retry_after_seconds(exc)

    def err(kind: str, hint: str, *, systemic: bool = False, retryable: bool = False) -> LLMCallError:
        return LLMCallError(
            f"{hint}: {detail}",
            kind=kind,
            systemic=systemic,
            retryable=retryable,
            status_code=status,
            retry_after_s=retry_after,
        )

    ex = litellm.exceptions
    if isinstance(exc, ex.BudgetExceededError):
        return err("budget", "Budget exceeded", systemic=True)
    if isinstance(exc, ex.AuthenticationError) or status == 401 or _MISSING_KEY_TEXT.search(raw):
        return err("auth", "Authentication failed (check the API key)", systemic=True)
    if isinstance(exc, ex.PermissionDeniedError) or status == 403:
        return err("permission", "Permission denied by the provider", systemic=True)
    if isinstance(exc, ex.NotFoundError) or status == 404:
        return err("not_found", "Model or endpoint not found (check --model and --base-url)", systemic=True)
    if isinstance(exc, ex.RateLimitError) or status == 429:
        return err("rate_limit", "Rate limit exceeded", retryable=True)
    if isinstance(exc, ex.Timeout):
        return err("timeout", "LLM request timed out", retryable=True)
    if isinstance(exc, ex.ContextWindowExceededError):
        return err("context_window", "Context window exceeded")
    if "LLM Provider NOT provided" in raw or "LLM provider not provided" in raw.lower():
        return err("bad_model", "Unknown provider (use provider/model, e.g. openai/gpt-5-mini)", systemic=True)
    # litellm gives connection failures status 500; they are not a server answer, so test them first.
    if _NOT_JSON_TEXT.search(raw):
        return err("bad_response", "The LLM endpoint returned a body that is not JSON", retryable=True)
    chain = _cause_names(exc)
    if _UNREACHABLE_TEXT.search(raw) or chain & _UNREACHABLE_CAUSES:
        return err("connection", "Cannot reach the LLM endpoint", systemic=True, retryable=True)
    if chain & _DROPPED_CAUSES or _DROPPED_TEXT.search(raw):
        return err("connection_dropped", "The connection to the LLM endpoint broke", retryable=True)
    if isinstance(exc, ex.APIConnectionError):  # no cause to tell: treat as unreachable, as before
        return err("connection", "Cannot reach the LLM endpoint", systemic=True, retryable=True)
    if status is not None and status >= 500:
        return err("server", f"LLM API error (HTTP {status})", retryable=True)
    if status is not None:
        return err("http", f"LLM API error (HTTP {status})")
    return err("unknown", "LLM call failed")


def retry_delay(policy: RetryPolicy, exc: BaseException | None, attempt_number: int) -> float:
    """Seconds to wait after failed attempt ``attempt_number``: ``Retry-After`` if given, else backoff."""
    backoff = min(policy.max_wait_s, policy.initial_wait_s * 2 ** (attempt_number - 1))
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        return min(policy.max_retry_after_s, max(retry_after, 0.0)) + random.uniform(0, 0.1 * backoff)
    return random.uniform(0.5 * backoff, backoff)


def retrying_kwargs(
    policy: RetryPolicy, on_retry: Callable[[LLMCallError, int, float], None] | None, *, attempts_done: int = 0
) -> dict[str, Any]:
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


LLM_CLIENT_ENV = "OSMOSIS_LOCAL_LLM_CLIENT"
LLM_CLIENTS = ("auto", "litellm")


# Set by a run with `--llm-client litellm` for the calls made inside it (judges included: worker threads
# started with asyncio.to_thread inherit it).
llm_client_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("llm_client_override", default=None)


def llm_client_mode() -> str:
    """``auto`` (plain HTTP for OpenAI-compatible URLs, litellm for the rest) or ``litellm`` (everything).

    The current run's ``--llm-client`` wins, then ``$OSMOSIS_LOCAL_LLM_CLIENT``.
    """
    mode = llm_client_override.get() or os.environ.get(LLM_CLIENT_ENV, "auto").strip().lower() or "auto"
    return mode if mode in LLM_CLIENTS else "auto"


def uses_direct_http(request: dict[str, Any], mode: str | None = None) -> bool:
    """Whether ``request`` goes over plain HTTP (`openai_http`) rather than through litellm."""
    from osmosis_local.llm.openai_http import is_openai_compatible

    return (mode or llm_client_mode()) != "litellm" and is_openai_compatible(request)


def _prepare(request: dict[str, Any]) -> dict[str, Any]:
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on every error
    # drop_params: a provider that rejects e.g. temperature (gpt-5) must not fail every row.
    return {"drop_params": True, **request, "num_retries": 0, "max_retries": 0}


@contextlib.contextmanager
def _classified(secrets: Sequence[str | None], attempts: Callable[[], int]) -> Iterator[None]:
    """Inside: any provider exception becomes an `LLMCallError`. Leaving: the error learns its attempt count."""
    try:
        yield
    except LLMCallError as exc:
        exc.attempts = attempts()
        raise
    except Exception as exc:  # noqa: BLE001 - every provider failure is classified
        error = classify(exc, secrets=secrets)
        error.attempts = attempts()
        raise error from exc


async def acompletion_with_retry(
    request: dict[str, Any],
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    secrets: Sequence[str | None] = (),
    on_retry: Callable[[LLMCallError, int, float], None] | None = None,
    client: str | None = None,
) -> Any:
    """``litellm.acompletion(**request)`` with retries; raises `LLMCallError` when it gives up.

    A request to an OpenAI-compatible URL goes over plain HTTP instead (`openai_http`), unless ``client``
    (default: ``$OSMOSIS_LOCAL_LLM_CLIENT``) is ``litellm``; the response is then the parsed JSON body.
    """
    if uses_direct_http(request, client):
        from osmosis_local.llm.openai_http import apost_chat

        return await apost_chat(request, policy=policy, secrets=secrets, on_retry=on_retry)
    import litellm

    prepared = _prepare(request)
    retrying = AsyncRetrying(**retrying_kwargs(policy, on_retry))
    attempts = lambda: retrying.statistics.get("attempt_number", 1)  # noqa: E731
    with _classified(secrets, attempts):
        async for attempt in retrying:
            with attempt, _classified(secrets, attempts):
                async with asyncio.timeout(float(prepared.get("timeout") or 600)):  # a whole-request deadline
                    return _with_choices(await litellm.acompletion(**prepared))
    raise AssertionError("unreachable")  # pragma: no cover


def completion_with_retry(
    request: dict[str, Any],
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    secrets: Sequence[str | None] = (),
    on_retry: Callable[[LLMCallError, int, float], None] | None = None,
    client: str | None = None,
) -> Any:
    """Blocking twin of `acompletion_with_retry` for synchronous callers (the SDK's `evaluate_rubric`)."""
    if uses_direct_http(request, client):
        from osmosis_local.llm.openai_http import post_chat

        return post_chat(request, policy=policy, secrets=secrets, on_retry=on_retry)
    import litellm

    prepared = _prepare(request)
    retrying = Retrying(**retrying_kwargs(policy, on_retry))
    attempts = lambda: retrying.statistics.get("attempt_number", 1)  # noqa: E731
    with _classified(secrets, attempts):
        for attempt in retrying:
            with attempt, _classified(secrets, attempts):
                return _with_choices(litellm.completion(**prepared))
    raise AssertionError("unreachable")  # pragma: no cover


def _with_choices(response: Any) -> Any:
    """The response, if it has a first choice; an answer without one is a transient error."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise LLMCallError(
            "The LLM endpoint returned no choices (an answer without choices[0])",
            kind="bad_response", systemic=False, retryable=True,
        )  # fmt: skip
    return response


def usage_of(response: Any) -> tuple[int, int]:
    """(prompt_tokens, completion_tokens) of a litellm response; zeros when the provider sent none."""
    usage = getattr(response, "usage", None)
    if usage is None and isinstance(response, dict):
        usage = response.get("usage")
    if usage is None:
        return 0, 0
    get = usage.get if isinstance(usage, dict) else lambda k, d=None: getattr(usage, k, d)
    return int(get("prompt_tokens", 0) or 0), int(get("completion_tokens", 0) or 0)
