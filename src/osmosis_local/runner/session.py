"""The one set-up path of `test`, `eval` and interactive mode, and one rollout turned into a `RunRecord`.

Set-up order: the dataset (every row in the window), the eval functions, the models, the rollout driver
(`osmosis_local.runner.drivers`: the MCP tools over one `fastmcp.Client`, an agent loop imported with ``-m``
and validated, or a RolloutServer checked and the trainer's callback endpoints started), then a preflight
request per model. So a typo in the dataset never costs a paid request. Every failure is a `SetupError` with
a one-line message. The session's ``config`` is the run's settings as resolved: with the SHA-256 of the
dataset and of the tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from osmosis_local.config.paths import absolute_fields, check_new_log, check_outputs
from osmosis_local.config.settings import EvalConfig, RunConfig
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.content.eval_fns import EvalFn
from osmosis_local.errors import OutputPathError, SetupError
from osmosis_local.llm.chat_model import EndpointChatModel
from osmosis_local.llm.provider_keys import key_redactor
from osmosis_local.llm.retry import LLMCallError
from osmosis_local.llm.transport import use_llm_client
from osmosis_local.log.records import RunRecord, TokenUsage, run_key
from osmosis_local.log.results import EvalResult, EvalRowResult, ReplicaUse, RolloutTestResult, write_results
from osmosis_local.log.summary import JudgeTokens
from osmosis_local.redaction import Redactor
from osmosis_local.runner.agent_loop import StepHook, ToolsHook
from osmosis_local.runner.drivers import McpDriver, RolloutDriver
from osmosis_local.runner.scoring import score_run
from osmosis_local.tools.runner import ToolRunner
from osmosis_local.types import ToolSpec

if TYPE_CHECKING:
    from osmosis_local.rubric.usage import ModelTally

Command = Literal["test", "eval"]
ConfigT = TypeVar("ConfigT", bound=RunConfig)

__all__ = ["ModelChoice", "RunHooks", "Session", "open_session", "run_redactor"]


@dataclass
class ModelChoice:
    """A model the run talks to: its tag (primary / baseline) and its client."""

    tag: str
    model: EndpointChatModel
    preflight_s: float | None = None  # how long the preflight request took (a latency estimate)

    @property
    def display_name(self) -> str:
        return self.model.display_name

    @property
    def is_local(self) -> bool:
        return self.model.settings.is_local

    @property
    def base_url(self) -> str | None:
        return self.model.settings.api_base

    @property
    def api_key(self) -> str | None:
        return self.model.api_key


class RunHooks:
    """What a run tells its caller; the console reporters override these, the Python API keeps them silent."""

    def preparing(self, step: str) -> None:
        """Set-up is doing ``step`` (the CLI shows a spinner)."""

    def note(self, message: str) -> None:
        """A line for the person running it (e.g. where the results were written)."""


def judge_tokens_spent(before: dict[str, ModelTally]) -> list[JudgeTokens]:
    """The tokens each judge model spent since the ``before`` snapshot, as the cost figures take them."""
    from osmosis_local.rubric import judge_tokens_since

    spent = judge_tokens_since(before)
    return [JudgeTokens(name, t.prompt_tokens, t.completion_tokens, t.is_local) for name, t in spent.items()]


def ready_outputs(config: ConfigT) -> ConfigT:
    """The settings with every path absolute (resolved once: a tool's ``os.chdir`` moves nothing), after checking
    the outputs before any work: none is an input, each can be written, a new ``--log`` holds no other run.
    Raises `OutputPathError`."""
    config = config.model_copy(update=absolute_fields(config))
    resume = config.resume if isinstance(config, EvalConfig) else None
    check_outputs(
        {"-o": config.output, "--log": None if resume is not None else config.log},
        {"the dataset (-d)": config.dataset, "the log being resumed (--resume)": resume},
    )
    if resume is None and config.log is not None:
        check_new_log(config.log)
    if resume is not None and not resume.is_file():
        raise OutputPathError(
            f"--resume {resume}: no such log ({'a folder' if resume.is_dir() else 'nothing is there'}). --resume "
            "continues a run from its transcript log; to start a new run in that file, give --log instead"
        )
    return config


ResultT = TypeVar("ResultT", EvalResult, RolloutTestResult)


def deliver_results(
    result: ResultT,
    output: Path | None,
    redactor: Redactor,
    hooks: RunHooks,
    rows: Iterable[EvalRowResult] | None = None,
) -> ResultT:
    """Write ``-o`` (when given) and say where; a write that fails at the end (a full disk) loses nothing else:
    the result is still returned and shown, with the failure as a problem and exit code 1. ``rows``: the rows of
    a result built without them (`write_results`)."""
    if output is None:
        return result
    try:
        written = write_results(output, result, redactor, rows)
    except OSError as exc:
        problem = (f"the results could not be written to {output} ({exc.strerror or type(exc).__name__}); every "
                   f"run is in the transcript log {result.transcript_log}")  # fmt: skip
        hooks.note(f"Error: {problem}")
        return result.failed_with(problem)
    hooks.note(f"Results written to {written}")
    return result


def run_redactor(config: RunConfig) -> Redactor:
    """A `Redactor` of every key this run may hold: the flags' keys and the providers' key variables."""
    return key_redactor(config.keys())


@dataclass
class Session(Generic[ConfigT]):
    """Everything set up for a run, with the tool client open. Make one with `open_session`."""

    config: ConfigT  # the settings as resolved (dataset_sha256, tools_sha256 set)
    rows: list[DatasetRow]
    eval_fns: list[EvalFn]
    driver: RolloutDriver
    models: list[ModelChoice]
    redactor: Redactor
    judge_usage_at_start: dict[str, int] = field(default_factory=dict)
    judge_tokens_at_start: dict[str, ModelTally] = field(default_factory=dict)

    def replica_use(self) -> list[ReplicaUse]:
        """Per replica of each model that has several: requests, failures, times taken out."""
        from osmosis_local.llm.replicas import ReplicaRouter

        use = []
        for choice in self.models:
            client = choice.model.client
            if isinstance(client, ReplicaRouter):
                role: Literal["policy", "baseline"] = "policy" if choice.tag == "primary" else "baseline"
                use += [ReplicaUse(role=role, url=r.url, requests=r.requests, failures=r.failures,
                                   taken_out=r.taken_out) for r in client.stats()]  # fmt: skip
        return use

    def judge_tokens(self) -> list[JudgeTokens]:
        """What each judge model spent since the session started (for the cost)."""
        return judge_tokens_spent(self.judge_tokens_at_start)

    @property
    def primary(self) -> ModelChoice:
        return self.models[0]

    @property
    def tools(self) -> list[ToolSpec]:
        return self.driver.tools

    @property
    def warnings(self) -> list[str]:
        return self.driver.warnings

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
        model = model or self.primary
        seed = None if self.config.seed is None else self.config.seed + run_index
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
        result = await self.driver.run(
            row, model=model.model, tag=model.tag, seed=seed, run_index=run_index, command=command,
            on_step=on_step, on_tools=on_tools,
        )  # fmt: skip
        scores: dict[str, float] = {}
        score_errors: dict[str, str] = {}
        if result.success:
            timeout_s = self.config.reward_timeout if isinstance(self.config, EvalConfig) else None
            scores, score_errors = await score_run(
                self.eval_fns, row, answer=result.solution_str, messages=result.messages, timeout_s=timeout_s
            )
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
            reward=result.reward,
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
            columns=row.scalar_columns,
            tool_calls=result.tool_calls,
            messages=result.messages,
        )


def _load_rows(config: RunConfig) -> list[DatasetRow]:
    from osmosis_local.content.dataset import DatasetError, load_dataset

    try:
        return load_dataset(config.dataset, limit=config.limit, offset=config.offset)
    except DatasetError as exc:
        raise SetupError(str(exc)) from exc


def _load_eval_fns(config: RunConfig) -> list[EvalFn]:
    from osmosis_local.content.eval_fns import EvalFnLoadError, load_eval_fns

    if not isinstance(config, EvalConfig):
        return []
    try:
        return load_eval_fns(config.eval_fns)
    except EvalFnLoadError as exc:
        raise SetupError(str(exc)) from exc


def _tool_source(config: RunConfig) -> Any:
    """The --mcp-url, or the FastMCP server imported from the --mcp folder."""
    if config.mcp_url is not None:
        return config.mcp_url
    from osmosis_local.content.mcp_loader import McpLoadError, load_mcp_server

    assert config.mcp is not None  # RunConfig holds exactly one of the two
    try:
        return load_mcp_server(config.mcp)
    except McpLoadError as exc:
        raise SetupError(str(exc)) from exc


def mcp_url_hint(url: str) -> str:
    """A hint for an --mcp-url whose path does not end in /mcp, where FastMCP serves by default."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.path.rstrip("/").endswith("/mcp"):
        return ""
    guess = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/mcp"))
    return f" (FastMCP serves its tools at the path /mcp by default: did you mean {guess}?)"


@contextlib.asynccontextmanager
async def _open_tools(source: Any, timeout_s: float, connect_timeout_s: float) -> AsyncIterator[ToolRunner]:
    """The tool runner of an imported server or of a URL; a server that cannot be reached (or does not answer
    within ``connect_timeout_s``) is a SetupError."""
    runner = ToolRunner(source, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s)
    try:
        await runner.__aenter__()
    except Exception as exc:  # noqa: BLE001 - connection refused, not an MCP endpoint, ...
        if not isinstance(source, str):
            raise
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise SetupError(f"Cannot use the MCP server at {source}: {detail[:300]}{mcp_url_hint(source)}") from exc
    try:
        yield runner
    finally:
        await runner.__aexit__(None, None, None)


async def _list_tools(runner: ToolRunner) -> tuple[list[ToolSpec], list[str]]:
    from osmosis_local.tools.schema import ToolSchemaError, convert_tools

    try:
        return convert_tools(await runner.list_tools())
    except ToolSchemaError as exc:
        raise SetupError(str(exc)) from exc


@contextlib.asynccontextmanager
async def _mcp_driver(config: RunConfig) -> AsyncIterator[RolloutDriver]:
    async with _open_tools(_tool_source(config), config.tool_timeout, config.request_timeout) as runner:
        tools, warnings = await _list_tools(runner)
        yield McpDriver(tools=tools, tool_caller=runner, max_turns=config.max_turns, warnings=warnings)


def _load_agent_loop(config: RunConfig) -> Any:
    """The ``-m`` loop, imported before the eval functions: its module may set up what they import (the
    repository's ``rollout_server/server.py`` puts the repository root on ``sys.path`` for ``reward_fn``)."""
    from osmosis_local.rollout.loading import AgentLoopLoadError, load_agent_loop

    assert config.module is not None
    try:
        return load_agent_loop(config.module)
    except AgentLoopLoadError as exc:
        raise SetupError(str(exc)) from exc


@contextlib.asynccontextmanager
async def _agent_loop_driver(config: RunConfig, rows: list[DatasetRow], loop: Any) -> AsyncIterator[RolloutDriver]:
    from osmosis_local.rollout.loading import validate_agent_loop
    from osmosis_local.rollout.tool_shapes import widen_tool
    from osmosis_local.runner.agent_loop_driver import IN_PROCESS_URL, AgentLoopDriver
    from osmosis_local.runner.drivers import rollout_request

    first = rollout_request(rows[0], config, command="test", run_index=0, tag="primary", server_url=IN_PROCESS_URL)
    report = validate_agent_loop(loop, first)
    errors = [f"{i.code}: {i.message}" for i in report.issues if i.severity == "error"]
    if errors:
        raise SetupError(f"-m {config.module} is not a valid agent loop: " + "; ".join(errors))
    driver = AgentLoopDriver(loop, config, [widen_tool(t) for t in report.tools])
    driver.warnings.extend(i.message for i in report.issues if i.severity == "warning")
    try:
        yield driver
    finally:
        close = getattr(loop, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):
            with contextlib.suppress(Exception):
                await close()


@contextlib.asynccontextmanager
async def _remote_driver(config: RunConfig) -> AsyncIterator[RolloutDriver]:
    from osmosis_local.rollout.callback import new_trainer_session
    from osmosis_local.rollout.trainer import TrainerEndpoints
    from osmosis_local.runner.remote_driver import RemoteDriver, check_rollout_server

    assert config.rollout_server is not None
    session = new_trainer_session()
    endpoints = TrainerEndpoints()
    try:
        key = config.rollout_server_key.get_secret_value() if config.rollout_server_key else None
        agent = await check_rollout_server(session, config.rollout_server, key)
        await endpoints.start()
        yield RemoteDriver(config, session=session, endpoints=endpoints, agent_name=agent)
    finally:
        await endpoints.stop()
        await session.close()


def _driver(
    config: RunConfig, rows: list[DatasetRow], loop: Any
) -> contextlib.AbstractAsyncContextManager[RolloutDriver]:
    if config.mode == "agent_loop":
        return _agent_loop_driver(config, rows, loop)
    if config.mode == "remote":
        return _remote_driver(config)
    return _mcp_driver(config)


def _models(config: RunConfig) -> list[ModelChoice]:
    from osmosis_local.llm.factory import build_chat_model

    tags = ("primary", "baseline")
    endpoints = zip(tags, config.endpoints, strict=False)
    return [ModelChoice(tag, build_chat_model(endpoint, config)) for tag, endpoint in endpoints]


async def _let_requests_go_out(rounds: int = 20) -> None:
    """Run the event loop briefly so new tasks connect and send their requests before blocking work."""
    for _ in range(rounds):
        await asyncio.sleep(0.0005)


async def _preflight(choice: ModelChoice) -> None:
    """One real tiny request; a systemic failure (bad key, wrong URL, unknown model) stops here."""
    started = time.perf_counter()
    try:
        await choice.model.preflight()
        choice.preflight_s = time.perf_counter() - started
    except LLMCallError as exc:
        if exc.systemic:
            raise SetupError(f"{choice.tag} model {choice.display_name}: {exc.message}") from exc


@contextlib.asynccontextmanager
async def open_session(
    config: ConfigT,
    hooks: RunHooks,
    *,
    before_preflight: Callable[[Session[ConfigT]], None] | None = None,
) -> AsyncIterator[Session[ConfigT]]:
    """Set everything up (see the module doc) and keep the tool client open for the block.

    ``before_preflight(session)`` may raise `SetupError` to stop before any model request is made.
    """
    from osmosis_local.content.dataset import file_sha256
    from osmosis_local.llm.model_names import load_dotenv_upwards
    from osmosis_local.rubric import judge_tokens_by_model, judge_usage
    from osmosis_local.tools.schema import tools_fingerprint

    config = ready_outputs(config)
    load_dotenv_upwards()
    hooks.preparing("reading the dataset")
    rows = _load_rows(config)
    dataset_sha256 = file_sha256(config.dataset)
    loop = None
    if config.mode == "agent_loop":
        hooks.preparing(f"importing the agent loop {config.module}")
        loop = _load_agent_loop(config)
    if isinstance(config, EvalConfig):
        hooks.preparing("importing the eval functions")
    loaded_fns = _load_eval_fns(config)
    hooks.preparing("setting up the model")
    models = _models(config)
    preflights: list[asyncio.Task[None]] = []
    with use_llm_client(config.llm_client):
        try:
            if before_preflight is None:
                # Nothing left to refuse the run once the dataset and eval functions loaded: the preflight
                # requests are sent first, and answered while the tools load (on this thread, no thread hop).
                preflights = [asyncio.create_task(_preflight(m)) for m in models]
                await _let_requests_go_out()
            hooks.preparing(
                {
                    "mcp": "loading the MCP tools",
                    "agent_loop": f"validating the agent loop {config.module}",
                    "remote": f"checking the RolloutServer at {config.rollout_server}",
                }[config.mode]
            )
            async with _driver(config, rows, loop) as driver:
                tools_sha256 = tools_fingerprint(driver.tools) if config.mode != "remote" else None
                resolved = config.model_copy(update={"dataset_sha256": dataset_sha256, "tools_sha256": tools_sha256})
                session = Session(
                    config=resolved,
                    rows=rows,
                    eval_fns=loaded_fns,
                    driver=driver,
                    models=models,
                    redactor=key_redactor([*config.keys(), *(m.api_key for m in models)]),
                    judge_usage_at_start=judge_usage(),
                    judge_tokens_at_start=judge_tokens_by_model(),
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
                await choice.model.aclose()
