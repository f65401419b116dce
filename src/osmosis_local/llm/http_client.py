"""`HttpModelClient`: chat completions over plain HTTP for OpenAI-compatible endpoints (no litellm on this path).

Used for every ``--base-url`` endpoint, the embedded ``local/`` model and judges with a ``base_url``:
aiohttp for async callers (the runner, `aevaluate_rubric`; a fraction of a millisecond of CPU per call),
httpx for the blocking `evaluate_rubric`. It takes the same `CompletionRequest` as the litellm client
(``model="openai/<name>"``, ``api_base``, ``api_key``, ``timeout``, optional parameters), and its semantics
match it (`osmosis_local.llm.litellm_client`):

- retries with exponential backoff and jitter, honouring ``Retry-After``, through the same `RetryPolicy`;
- verdicts: auth/permission/not-found/unreachable are *systemic* (stop the batch), the rest per-row;
  a reset or dropped connection, a body that is not JSON and an answer with no choices are transient
  and retried like a 5xx;
- ``timeout`` is a deadline for the whole request (connect, send, every byte of the answer);
- an optional parameter the endpoint rejects (HTTP 400/422 naming it) is dropped and the request sent
  again, and left out of later requests to that endpoint (like litellm's ``drop_params``);
- every error text is redacted of the request's key.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson
from tenacity import AsyncRetrying, Retrying

from osmosis_local.llm.base import NO_KEY, ModelClient, ModelReply, Transport, reply_from_body
from osmosis_local.llm.retry import (
    DEFAULT_RETRY,
    DETAIL_LIMIT,
    LLMCallError,
    OnRetry,
    RetryPolicy,
    retry_delay,
    retrying_kwargs,
)
from osmosis_local.redaction import Redactor, url_secrets
from osmosis_local.types import CompletionRequest

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

__all__ = ["OPTIONAL_PARAMS", "HttpModelClient", "WireRequest", "wire_request"]

# Parameters a caller may set that an endpoint may refuse; they are dropped when it does.
OPTIONAL_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "reasoning_effort", "response_format")
# Request keys that configure the call rather than go into the body.
_CALL_KEYS = frozenset({"model", "api_base", "api_key", "timeout", "drop_params", "num_retries", "max_retries"})
_REJECTED = re.compile(
    r"unsupported|not supported|unrecognized|unknown|not allowed|does not support|invalid|extra", re.IGNORECASE
)
_CONTEXT = re.compile(r"context (length|window)|maximum context|too many tokens|prompt is too long", re.I)
_MAX_DROPS = len(OPTIONAL_PARAMS)
_NO_HEADERS: Mapping[str, str] = {}

_dropped_lock = threading.Lock()
_dropped: dict[tuple[str, str], set[str]] = {}  # (url, model) -> parameters that endpoint rejected


@dataclass(frozen=True)
class WireRequest:
    """One chat-completion request as it goes over the wire."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    timeout_s: float
    secrets: tuple[str, ...]

    @property
    def endpoint(self) -> tuple[str, str]:
        return self.url, str(self.body.get("model"))

    def encoded(self) -> bytes:
        dropped = _dropped.get(self.endpoint)
        body = {k: v for k, v in self.body.items() if k not in dropped} if dropped else self.body
        tools = body.get("tools")
        if not tools:
            return _dumps(body).encode("utf-8")
        # A run offers the same tool list on every turn: its JSON is made once and spliced in.
        rest = _dumps({k: v for k, v in body.items() if k != "tools"})
        return f'{rest[:-1]},"tools":{_tools_json(tools)}}}'.encode()


def _dumps(value: Any) -> str:
    """Compact JSON of a request body: orjson (15x faster than `json` on a conversation, a twentieth of an eval's
    CPU), or `json` for what orjson refuses (an integer past 64 bits, a non-string key) and writes the same."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(raw: bytes) -> Any:
    """JSON of an answer: orjson, or `json` for what orjson refuses (NaN, an integer past 64 bits)."""
    try:
        return orjson.loads(raw)
    except ValueError:
        return json.loads(raw)


_tools_cache: dict[int, tuple[list[Any], str]] = {}


def _tools_json(tools: list[Any]) -> str:
    """The JSON of a tool list, computed once per list object (kept alive while cached)."""
    cached = _tools_cache.get(id(tools))
    if cached is not None and cached[0] is tools:
        return cached[1]
    text = _dumps(tools)
    if len(_tools_cache) > 64:
        _tools_cache.clear()
    _tools_cache[id(tools)] = (tools, text)
    return text


@functools.lru_cache(maxsize=64)
def _redactor(secrets: tuple[str, ...]) -> Redactor:
    return Redactor.of(secrets)


@functools.lru_cache(maxsize=64)
def chat_url(api_base: str) -> tuple[str, str | None, tuple[str, ...]]:
    """``(url, basic_auth, secrets)`` of a base URL: its ``/chat/completions`` URL with the query kept and the
    userinfo taken out (aiohttp refuses ``user:pass@`` in a URL; it is sent as ``Authorization: Basic`` instead,
    unless there is an API key), and the credentials the URL holds, for the redactor."""
    parts = urlsplit(api_base)
    netloc, basic = parts.netloc, None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        basic = "Basic " + base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/chat/completions", parts.query, ""))
    return url, basic, tuple(url_secrets(api_base))


def wire_request(request: CompletionRequest, secrets: Sequence[str | None] = ()) -> WireRequest:
    """The HTTP request for a `CompletionRequest` (``model="openai/<name>"``, ``api_base``, ``api_key``...)."""
    model = str(request["model"]).removeprefix("openai/")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    url, basic, in_url = chat_url(str(request["api_base"]))
    key = request.get("api_key")
    if basic and (not key or key == NO_KEY):
        headers["Authorization"] = basic
    elif key:
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, Any] = {"model": model}
    body.update({k: v for k, v in request.items() if k not in _CALL_KEYS and v is not None})
    known = tuple(s for s in (*secrets, key, *in_url) if s)
    return WireRequest(url, headers, body, float(request.get("timeout") or 600.0), known)


def _detail(text: str, redact: Redactor) -> str:
    """The provider's own message (``error.message`` when the body is an OpenAI error), one line, short."""
    message = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            message = str(error["message"])
        elif isinstance(error, str):
            message = error
        elif parsed.get("message") or parsed.get("detail"):
            message = str(parsed.get("message") or parsed.get("detail"))
    message = " ".join(redact(message).split()) or "(empty body)"
    return message if len(message) <= DETAIL_LIMIT else message[: DETAIL_LIMIT - 3] + "..."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def status_error(status: int, text: str, headers: Mapping[str, str], redact: Redactor) -> LLMCallError:
    """An HTTP error status as an `LLMCallError` with the same verdicts as the litellm path."""
    detail = _detail(text, redact)
    after = _retry_after(headers)

    def err(kind: str, hint: str, *, systemic: bool = False, retryable: bool = False) -> LLMCallError:
        message = f"{hint}: {detail}"
        return LLMCallError(message, kind=kind, systemic=systemic, retryable=retryable, status_code=status,
                            retry_after_s=after)  # fmt: skip

    if status == 401:
        return err("auth", "Authentication failed (check the API key)", systemic=True)
    if status == 403:
        return err("permission", "Permission denied by the provider", systemic=True)
    if status == 404:
        return err("not_found", "Model or endpoint not found (check --model and --base-url)", systemic=True)
    if status == 429:
        return err("rate_limit", "Rate limit exceeded", retryable=True)
    if status == 408:
        return err("timeout", "LLM request timed out", retryable=True)
    if status >= 500:
        return err("server", f"LLM API error (HTTP {status})", retryable=True)
    if _CONTEXT.search(detail):
        return err("context_window", "Context window exceeded")
    return err("http", f"LLM API error (HTTP {status})")


def _rejected_param(status: int, text: str, request: WireRequest) -> str | None:
    """The optional parameter a 400/422 answer says the endpoint does not take, if any."""
    if status not in (400, 422) or not _REJECTED.search(text):
        return None
    for name in OPTIONAL_PARAMS:
        if name in request.body and re.search(rf"\b{name}\b", text):
            return name
    return None


def _remember_dropped(request: WireRequest, name: str) -> None:
    with _dropped_lock:
        _dropped.setdefault(request.endpoint, set()).add(name)


def read_completion(status: int, raw: bytes, redact: Redactor) -> dict[str, Any]:
    """The parsed chat completion of a 2xx answer; an answer that cannot be one is a transient error."""
    try:
        body = _loads(raw)
    except ValueError:
        snippet = _detail(raw[:200].decode("utf-8", "replace"), redact)
        raise LLMCallError(
            f"The LLM endpoint returned a body that is not JSON (HTTP {status}): {snippet}",
            kind="bad_response", systemic=False, retryable=True, status_code=status,
        ) from None  # fmt: skip
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMCallError(
            "The LLM endpoint returned no choices (HTTP 200 without choices[0])",
            kind="bad_response", systemic=False, retryable=True, status_code=status,
        )  # fmt: skip
    return body


def _transport_error(exc: BaseException, redact: Redactor, timeout_s: float) -> LLMCallError:
    """A failure below HTTP: refused/unresolvable (systemic once retries run out), dropped, or too slow."""
    text = redact(" ".join(str(exc).split()) or type(exc).__name__)[:DETAIL_LIMIT]
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return LLMCallError(f"LLM request timed out after {timeout_s:g}s", kind="timeout", systemic=False,
                            retryable=True)  # fmt: skip
    if name in ("ClientConnectorError", "ClientConnectorDNSError", "ClientConnectorCertificateError", "ConnectError"):
        return LLMCallError(f"Cannot reach the LLM endpoint: {text}", kind="connection", systemic=True, retryable=True)
    return LLMCallError(f"The connection to the LLM endpoint broke ({name}): {text}", kind="connection_dropped",
                        systemic=False, retryable=True)  # fmt: skip


def _answer(
    status: int, headers: Mapping[str, str], raw: bytes, request: WireRequest, redact: Redactor
) -> dict[str, Any] | None:
    """The completion of one answer; None when the endpoint rejected an optional parameter (now dropped:
    send again); an `LLMCallError` for any other error status."""
    if status < 300:
        return read_completion(status, raw, redact)
    text = raw.decode("utf-8", "replace")
    name = _rejected_param(status, text, request)
    if name is None:
        raise status_error(status, text, headers, redact)
    _remember_dropped(request, name)
    return None


async def _attempt_async(session: aiohttp.ClientSession, request: WireRequest, redact: Redactor) -> dict[str, Any]:
    import aiohttp

    status, headers, raw = 0, _NO_HEADERS, b""
    for _ in range(_MAX_DROPS + 1):
        try:
            async with asyncio.timeout(request.timeout_s):
                async with session.post(request.url, data=request.encoded(), headers=request.headers) as response:
                    raw = await response.read()
                    status, headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _transport_error(exc, redact, request.timeout_s) from None
        body = _answer(status, headers, raw, request, redact)
        if body is not None:
            return body
    raise status_error(status, raw.decode("utf-8", "replace"), headers, redact)


def _attempt_sync(client: Any, request: WireRequest, redact: Redactor) -> dict[str, Any]:
    import httpx

    status, headers, raw = 0, _NO_HEADERS, b""
    for _ in range(_MAX_DROPS + 1):
        try:
            with client.stream("POST", request.url, content=request.encoded(), headers=request.headers) as response:
                raw = _read_before(response, request.timeout_s)
                status, headers = response.status_code, response.headers
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            raise _transport_error(exc, redact, request.timeout_s) from None
        body = _answer(status, headers, raw, request, redact)
        if body is not None:
            return body
    raise status_error(status, raw.decode("utf-8", "replace"), headers, redact)


def _read_before(response: Any, timeout_s: float) -> bytes:
    """The whole body, or `TimeoutError` once ``timeout_s`` has passed since the request began."""
    deadline = time.monotonic() + timeout_s
    chunks = []
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the answer was still arriving after {timeout_s:g}s")
    return b"".join(chunks)


def new_session(connections: int = 0) -> aiohttp.ClientSession:
    """An aiohttp session for one model client: no per-host connection cap beyond ``connections``."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
        timeout=aiohttp.ClientTimeout(total=None),  # each request has its own deadline (asyncio.timeout)
    )


class HttpModelClient(ModelClient):
    """An OpenAI-compatible URL over plain HTTP: one aiohttp connection pool per client (opened on first use).

    ``connections`` caps the pool (0: as many as are in flight). `aclose` releases it.
    """

    transport: Transport = "http"

    def __init__(self, connections: int = 0) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        import aiohttp  # noqa: F401  (now, so the preflight request goes out at once when set-up starts it)

    async def acomplete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        if self._session is None:
            self._session = new_session(self._connections)
        session = self._session
        wire = wire_request(request, secrets)
        redact = _redactor(wire.secrets)
        try:  # the first attempt outside the retry machinery: the hot path, and most calls succeed
            return reply_from_body(await _attempt_async(session, wire, redact))
        except LLMCallError as exc:
            if not exc.retryable or policy.max_attempts <= 1:
                raise
            delay = retry_delay(policy, exc, 1)
            if on_retry is not None:
                on_retry(exc, 1, delay)
        await asyncio.sleep(delay)
        retrying = AsyncRetrying(**retrying_kwargs(policy, on_retry, attempts_done=1))
        try:
            async for attempt in retrying:
                with attempt:
                    return reply_from_body(await _attempt_async(session, wire, redact))
        except LLMCallError as exc:
            exc.attempts = retrying.statistics.get("attempt_number", 1) + 1
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def complete(
        self,
        request: CompletionRequest,
        *,
        policy: RetryPolicy = DEFAULT_RETRY,
        secrets: Sequence[str | None] = (),
        on_retry: OnRetry | None = None,
    ) -> ModelReply:
        import httpx

        wire = wire_request(request, secrets)
        redact = _redactor(wire.secrets)
        retrying = Retrying(**retrying_kwargs(policy, on_retry))
        with httpx.Client(timeout=wire.timeout_s) as client:
            try:
                for attempt in retrying:
                    with attempt:
                        return reply_from_body(_attempt_sync(client, wire, redact))
            except LLMCallError as exc:
                exc.attempts = retrying.statistics.get("attempt_number", 1)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
