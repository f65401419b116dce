"""Which client reaches a model, decided here and only here.

An OpenAI-compatible URL (an ``api_base`` with a model ``openai/<name>``: ``--base-url``, the embedded model,
a judge's ``base_url``) goes over plain HTTP (`HttpModelClient`), unless the run says ``--llm-client
litellm``; anything else goes through litellm (`LiteLLMClient`). A run's choice reaches the calls made inside
it (judges included: worker threads started with `asyncio.to_thread` inherit it) through `use_llm_client`;
``$OSMOSIS_LOCAL_LLM_CLIENT`` sets it for any process.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence

from osmosis_local.llm.base import ModelClient, ModelReply, Transport
from osmosis_local.llm.retry import DEFAULT_RETRY, OnRetry, RetryPolicy
from osmosis_local.types import CompletionRequest

LLM_CLIENT_ENV = "OSMOSIS_LOCAL_LLM_CLIENT"
LLM_CLIENTS = ("auto", "litellm")

_llm_client: contextvars.ContextVar[str | None] = contextvars.ContextVar("osmosis_local_llm_client", default=None)


@contextlib.contextmanager
def use_llm_client(mode: str) -> Iterator[None]:
    """For the block (and the tasks and threads it starts): ``auto`` or ``litellm`` for every call."""
    token = _llm_client.set(mode if mode in LLM_CLIENTS else None)
    try:
        yield
    finally:
        _llm_client.reset(token)


def llm_client_mode() -> str:
    """``auto`` or ``litellm``: the current run's ``--llm-client``, else ``$OSMOSIS_LOCAL_LLM_CLIENT``."""
    mode = _llm_client.get() or os.environ.get(LLM_CLIENT_ENV, "auto").strip().lower() or "auto"
    return mode if mode in LLM_CLIENTS else "auto"


def choose_transport(model: str, api_base: str | None, llm_client: str | None = None) -> Transport:
    """``http`` for an OpenAI-compatible URL (unless ``litellm`` is asked for), else ``litellm``."""
    mode = llm_client or llm_client_mode()
    return "http" if mode != "litellm" and bool(api_base) and model.startswith("openai/") else "litellm"


def new_client(transport: Transport, *, connections: int = 0) -> ModelClient:
    """A client of that transport (the HTTP one holds a connection pool of at most ``connections``, 0: any)."""
    if transport == "http":
        from osmosis_local.llm.http_client import HttpModelClient

        return HttpModelClient(connections)
    from osmosis_local.llm.litellm_client import LiteLLMClient

    return LiteLLMClient()


def client_for(request: CompletionRequest, llm_client: str | None = None) -> ModelClient:
    """A new client for this request's endpoint."""
    return new_client(choose_transport(request["model"], request.get("api_base"), llm_client))


async def acomplete(
    request: CompletionRequest,
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    secrets: Sequence[str | None] = (),
    on_retry: OnRetry | None = None,
    llm_client: str | None = None,
) -> ModelReply:
    """One call on a client of its own (closed afterwards): the reply, or `LLMCallError` when it gives up."""
    client = client_for(request, llm_client)
    try:
        return await client.acomplete(request, policy=policy, secrets=secrets, on_retry=on_retry)
    finally:
        await client.aclose()


def complete(
    request: CompletionRequest,
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    secrets: Sequence[str | None] = (),
    on_retry: OnRetry | None = None,
    llm_client: str | None = None,
) -> ModelReply:
    """Blocking twin of `acomplete`."""
    return client_for(request, llm_client).complete(request, policy=policy, secrets=secrets, on_retry=on_retry)
