"""`LiteLLMClient`: one chat-completion call through litellm, for providers that need its translation.

litellm's and the OpenAI client's own retries are switched off so `RetryPolicy` is the only retry layer, and
``drop_params`` keeps a provider that rejects a parameter (e.g. ``temperature`` on gpt-5) from failing every
row. `classify` turns any provider exception into an `LLMCallError` with the same verdicts as the HTTP path.
litellm is imported only inside calls (it costs seconds), never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tenacity import AsyncRetrying, Retrying

from osmosis_local import _env  # noqa: F401  (offline defaults before litellm loads)
from osmosis_local.llm.base import ModelClient, ModelReply, Transport, reply_from_body
from osmosis_local.llm.retry import DEFAULT_RETRY, LLMCallError, OnRetry, RetryPolicy, retrying_kwargs, shortened
from osmosis_local.redaction import Redactor
from osmosis_local.types import CompletionRequest

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
_NOT_JSON_TEXT = re.compile(r"jsondecodeerror|expecting value|invalid json|not valid json|unterminated string", re.I)
_MISSING_KEY_TEXT = re.compile(r"missing credentials|api_key client option must be set|no api key", re.IGNORECASE)


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
    detail = shortened(Redactor.of(secrets)(raw).replace("\n", " ").strip())
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


def _prepare(request: CompletionRequest) -> dict[str, Any]:
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on every error
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


def _reply(response: Any) -> ModelReply:
    """The reply of a litellm response; one without a first choice is a transient error."""
    if not getattr(response, "choices", None):
        raise LLMCallError(
            "The LLM endpoint returned no choices (an answer without choices[0])",
            kind="bad_response", systemic=False, retryable=True,
        )  # fmt: skip
    return reply_from_body(response.model_dump())


class LiteLLMClient(ModelClient):
    """Every provider litellm knows: one retried ``litellm.acompletion`` per call; holds no connections."""

    transport: Transport = "litellm"

    async def acomplete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        import litellm

        prepared = _prepare(request)
        retrying = AsyncRetrying(**retrying_kwargs(policy, on_retry))

        def attempts() -> int:
            return int(retrying.statistics.get("attempt_number", 1))

        with _classified(secrets, attempts):
            async for attempt in retrying:
                with attempt, _classified(secrets, attempts):
                    async with asyncio.timeout(float(prepared.get("timeout") or 600)):  # a whole-request deadline
                        return _reply(await litellm.acompletion(**prepared))
        raise AssertionError("unreachable")  # pragma: no cover

    def complete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        import litellm

        prepared = _prepare(request)
        retrying = Retrying(**retrying_kwargs(policy, on_retry))

        def attempts() -> int:
            return int(retrying.statistics.get("attempt_number", 1))

        with _classified(secrets, attempts):
            for attempt in retrying:
                with attempt, _classified(secrets, attempts):
                    return _reply(litellm.completion(**prepared))
        raise AssertionError("unreachable")  # pragma: no cover
