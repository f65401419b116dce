"""The results of `test` and `eval` (`RolloutTestResult`, `EvalResult`): what the API returns and `-o` writes.

The `-o` file is the result model dumped as JSON (its ``config`` is the run's settings model, as the transcript
header records them); `schema_markdown` renders the field tables the README shows, so the documentation is
generated from these models and a test keeps the two in step.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from osmosis_local.config.settings import EvalConfig, RolloutTestConfig
from osmosis_local.errors import EXIT_FAILED
from osmosis_local.log.records import EndState, TokenUsage
from osmosis_local.redaction import NO_SECRETS, Redactor
from osmosis_local.safe_text import model_json


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalFnStats(_Result):
    """The figures of one eval function for one model."""

    mean: float | None = Field(description="mean over scored runs (null when none was scored)")
    stderr: float | None = Field(
        default=None,
        description="standard error of mean, clustered by row (runs of one row are not independent); null below "
        "2 rows scored",
    )
    ci95_low: float | None = Field(default=None, description="95% interval of mean: mean - t(rows-1) x stderr")
    ci95_high: float | None = Field(default=None, description="95% interval of mean: mean + t(rows-1) x stderr")
    mean_all_runs: float | None = Field(
        description="mean over every run, a failed run or a scorer error counting as 0 (the SDK's mean)"
    )
    std: float | None = Field(description="population standard deviation over scored runs")
    min: float | None = Field(description="lowest score")
    max: float | None = Field(description="highest score")
    scored: int = Field(description="runs with a score")
    errors: int = Field(description="runs whose eval function raised or returned a non-number")
    unscored: int = Field(description="failed runs, so nothing was scored")
    pass_at_1: float | None = Field(default=None, description="unbiased pass@1 (only when --n > 1)")
    pass_at_3: float | None = Field(default=None, description="pass@3 (only when --n >= 3)")
    pass_at_5: float | None = Field(default=None, description="pass@5 (only when --n >= 5)")
    pass_at_10: float | None = Field(default=None, description="pass@10 (only when --n >= 10)")

    @model_serializer(mode="wrap")
    def _drop_absent_pass_at(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (k.startswith("pass_at_") and v is None)}

    def pass_at(self) -> dict[int, float]:
        """``{k: pass@k}`` for the k that were computed."""
        values = {k: getattr(self, f"pass_at_{k}") for k in (1, 3, 5, 10)}
        return {k: v for k, v in values.items() if v is not None}


class EvalRunResult(_Result):
    """One run of one row on one model."""

    run_index: int = Field(description="k of the --n runs of the row, from 0")
    model_tag: str = Field(description="primary or baseline")
    success: bool = Field(description="the run ended with an answer (end_state answered), as in `test`")
    end_state: EndState = Field(description="answered, out_of_turns, cut_off or error")
    error: str | None = Field(description="why the run did not end with an answer (null when it did)")
    finish_reason: str = Field(description="stop, length, max_turns, aborted or error")
    seed: int | None = Field(description="the seed sent for this run (--seed S gives run k the seed S + k)")
    scores: dict[str, float] = Field(description="score per eval function")
    score_errors: dict[str, str] = Field(description="error per eval function that raised")
    reward: float | None = Field(
        default=None, description="the reward the agent loop reported itself (-m, --rollout-server), or null"
    )
    duration_ms: float = Field(description="wall time of the rollout, tools included")
    tokens: int = Field(description="policy tokens of the rollout")
    answer: str = Field(description="the final answer text (up to 4,000 characters: the log holds all of it)")


class EvalRowResult(_Result):
    """One dataset row."""

    row_index: int = Field(description="absolute index of the row in the dataset")
    runs: list[EvalRunResult] = Field(description="its runs, by run index, primary before baseline")


class ModelSummary(_Result):
    model: str = Field(description="model name as typed")
    model_tag: str = Field(description="primary or baseline")
    total_runs: int = Field(description="runs of this model")
    failed_runs: int = Field(description="runs that did not end with an answer")
    end_states: dict[EndState, int] = Field(description="runs per end state")
    total_tokens: int = Field(description="policy tokens")
    total_duration_ms: float = Field(description="sum of the run durations")
    eval_fns: dict[str, EvalFnStats] = Field(description="figures per eval function")


class Comparison(_Result):
    """Primary vs baseline for one eval function, paired by (row, run)."""

    wins: int = Field(description="pairs where primary scored higher")
    losses: int = Field(description="pairs where baseline scored higher")
    ties: int = Field(description="pairs with equal scores")
    pairs: int = Field(description="pairs where both sides have a score")
    unpaired: int = Field(description="(row, run)s where one side has no score")
    win_rate: float | None = Field(description="wins / pairs")
    mean_delta: float | None = Field(description="mean of primary - baseline")
    mean_delta_ci95_low: float | None = Field(
        default=None, description="95% interval of mean_delta (clustered by row); null below 2 paired rows"
    )
    mean_delta_ci95_high: float | None = Field(default=None, description="its upper end")
    p_value: float | None = Field(
        default=None,
        description="two-sided p-value of no difference: a sign-flip permutation test over rows (deterministic)",
    )
    p_value_method: str = Field(default="", description="how p_value was computed (exact, resampled, normal)")


class JudgeUsage(_Result):
    calls: int = Field(description="rubric judge requests made")
    cache_hits: int = Field(description="judge replies served from the cache")
    prompt_tokens: int = Field(description="judge prompt tokens")
    completion_tokens: int = Field(description="judge completion tokens")
    total_tokens: int = Field(description="judge tokens in all")


class ModelCost(_Result):
    """What one model's tokens cost, priced by the model's name (litellm's bundled price list)."""

    model: str = Field(description="the model as named (a judge as provider/model)")
    role: Literal["policy", "baseline", "judge"] = Field(description="policy (the primary model), baseline or judge")
    prompt_tokens: int = Field(description="prompt tokens")
    completion_tokens: int = Field(description="completion tokens")
    usd: float | None = Field(description="dollars; null when the price of the model is not known (never a guess)")
    price_source: str | None = Field(description="where the price came from (null when unknown)")


class ReplicaUse(_Result):
    """What one replica of a model (`--base-url` given several times) did in this eval."""

    role: Literal["policy", "baseline"] = Field(description="the model it serves")
    url: str = Field(description="its base URL (credentials redacted)")
    requests: int = Field(description="requests sent to it")
    failures: int = Field(description="requests that failed at it (refused, dropped, timed out, 5xx)")
    taken_out: int = Field(description="times it was taken out of rotation")


class ScoreChange(_Result):
    """A rescore against the scores the log held for the same eval function."""

    mean_before: float | None = Field(description="mean over scored runs in the log")
    mean_after: float | None = Field(description="mean over scored runs now")
    changed_runs: int = Field(description="runs whose score (or error) differs")
    changed: list[str] = Field(description="those runs, as row-<i>/run-<k>/<model>: before -> after")


class EvalSummary(_Result):
    total_rows: int = Field(description="rows in the window")
    total_runs: int = Field(description="runs of the primary model in this result")
    expected_runs: int = Field(description="rows x --n")
    failed_runs: int = Field(description="primary runs that did not end with an answer (error, out of turns, cut off)")
    end_states: dict[EndState, int] = Field(description="primary runs per end state (every state, 0 included)")
    stopped_early: bool = Field(description="a systemic error stopped the eval before every run was done")
    stop_reason: str | None = Field(description="the systemic error, or the interruption")
    interrupted: bool = Field(
        default=False,
        description="partial results: the eval was interrupted (Ctrl-C); the figures cover the runs done, and "
        "--resume LOG continues it",
    )
    eval_fns: dict[str, EvalFnStats] = Field(description="figures of the primary model per eval function")
    total_tokens: int = Field(description="policy tokens of the primary model")
    total_duration_ms: float = Field(description="wall time of the eval phase")
    run_duration_ms: float = Field(
        default=0.0, description="sum of the primary runs' durations (the console's Avg Latency is this / total_runs)"
    )
    judge_usage: JudgeUsage | None = Field(description="rubric judges' own calls and tokens, when any ran")
    cost: list[ModelCost] = Field(default_factory=list, description="the cost of each model's tokens")
    replicas: list[ReplicaUse] = Field(
        default_factory=list, description="per replica, when a model had several (--base-url given again)"
    )
    total_cost_usd: float | None = Field(
        default=None, description="the sum of the known costs (null when none is known: see cost for which)"
    )
    problems: list[str] = Field(description="why the eval exits non-zero (empty when it exits 0)")


class EvalResult(_Result):
    """Everything `osmosis-local eval` reports; the `-o` file is this model as JSON."""

    command: Literal["eval", "rescore"] = Field(default="eval", description="eval, or rescore")
    config: EvalConfig = Field(description="what was run: the settings, as the transcript header records them")
    summary: EvalSummary = Field(description="the figures")
    rows: list[EvalRowResult] = Field(description="every row with its runs")
    model_summaries: list[ModelSummary] | None = Field(description="per-model figures, with a baseline")
    comparison: dict[str, Comparison] | None = Field(description="primary vs baseline per eval function")
    transcript_log: str = Field(description="the JSONL transcript log of the runs")
    changes: dict[str, ScoreChange] | None = Field(
        default=None, description="rescore only: per eval function the log had scored too, before -> after"
    )
    exit_code: int = Field(
        description="0 done, 1 failed (systemic error, an eval fn errored on every run), 3 --fail-under, "
        "130 interrupted"
    )

    def to_json(self, redactor: Redactor = NO_SECRETS) -> str:
        return redactor(model_json(self, indent=2)) + "\n"

    def write_json(self, handle: TextIO, rows: Iterable[EvalRowResult], redactor: Redactor = NO_SECRETS) -> None:
        """`to_json` of this result (built without its rows) with ``rows`` in its place, written one row at a
        time: the same text, without the whole of it (or every row) in memory at once."""
        head, marker, tail = model_json(self, indent=2).partition(_NO_ROWS)  # found before redaction can touch it
        if not marker or self.rows:
            raise ValueError("write_json needs a result built without its rows")
        head, tail = redactor(head), redactor(tail)
        handle.write(head + '\n  "rows": [')
        first = True
        for row in rows:
            handle.write(("\n" if first else ",\n") + _indented(redactor(model_json(row, indent=2))))
            first = False
        handle.write(("]" if first else "\n  ]") + ",\n" + tail + "\n")

    def failed_with(self, problem: str) -> EvalResult:
        """This result with one more problem, failed (exit code 1): e.g. its ``-o`` file could not be written."""
        summary = self.summary.model_copy(update={"problems": [*self.summary.problems, problem]})
        return self.model_copy(update={"summary": summary, "exit_code": EXIT_FAILED})


class RolloutTestSummary(_Result):
    total: int = Field(description="rows run")
    passed: int = Field(description="rows whose rollout ended with a final answer")
    failed: int = Field(description="rows that failed, ran out of turns or were cut off")
    total_duration_ms: float = Field(description="wall time")
    total_tokens: int = Field(description="policy tokens")
    stopped_early: bool = Field(description="a systemic error stopped the run before every row was done")
    stop_reason: str | None = Field(description="the systemic error")
    finish_reasons: dict[str, int] = Field(description="rows per finish reason")
    end_states: dict[EndState, int] = Field(description="rows per end state (every state, 0 included)")


class RolloutTestRowResult(_Result):
    row_index: int = Field(description="absolute index of the row")
    success: bool = Field(description="the row passed: its rollout ended with an answer (end_state answered)")
    end_state: EndState = Field(description="answered, out_of_turns, cut_off or error")
    error: str | None = Field(description="why it did not")
    duration_ms: float = Field(description="wall time of the rollout")
    token_usage: TokenUsage = Field(description="prompt_tokens, completion_tokens, total_tokens, num_llm_calls")
    reward: float | None = Field(
        description="the reward the agent loop reported itself (-m, --rollout-server); null for --mcp"
    )
    finish_reason: str = Field(description="stop, length, max_turns or error")


class RolloutTestResult(_Result):
    """Everything `osmosis-local test` reports; the `-o` file is this model as JSON."""

    config: RolloutTestConfig = Field(description="what was run: the settings, as the transcript header records them")
    summary: RolloutTestSummary = Field(description="the counts")
    results: list[RolloutTestRowResult] = Field(description="one entry per row, in order")
    transcript_log: str = Field(description="the JSONL transcript log of the rows")
    exit_code: int = Field(description="0 when every row passed, else 1")

    def to_json(self, redactor: Redactor = NO_SECRETS) -> str:
        return redactor(model_json(self, indent=2)) + "\n"

    def failed_with(self, problem: str) -> RolloutTestResult:
        """This result, failed (exit code 1) because of ``problem`` (a test result has no problems list)."""
        return self.model_copy(update={"exit_code": EXIT_FAILED})


_NO_ROWS = '\n  "rows": [],\n'  # where an `EvalResult` built without its rows has them, as `model_json` writes it


def _indented(text: str, prefix: str = "    ") -> str:
    """``text`` (JSON: no line break inside a string) one level deeper, as a list item of the result."""
    return prefix + text.replace("\n", "\n" + prefix)


def write_results(
    path: str | Path,
    result: EvalResult | RolloutTestResult,
    redactor: Redactor = NO_SECRETS,
    rows: Iterable[EvalRowResult] | None = None,
) -> Path:
    """The `-o` JSON file, parent folders created. ``rows``: the rows of an `EvalResult` built without them,
    written one at a time (`EvalResult.write_json`)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if rows is None or not isinstance(result, EvalResult):
        out.write_text(result.to_json(redactor), encoding="utf-8")
        return out
    with out.open("w", encoding="utf-8") as handle:
        result.write_json(handle, rows, redactor)
    return out


# --------------------------------------------------------------------------------------------
# The README's schema tables, generated from the models
# --------------------------------------------------------------------------------------------


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_type_text(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return " or ".join(f'"{a}"' for a in args)
    if origin is list:
        return f"list of {_type_text(args[0])}"
    if origin is dict:
        return f"object of {_type_text(args[1])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "string (a path)"}
    return names.get(annotation, str(annotation))


def _nested_model(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """The model inside a field's type, and the path suffix to reach its fields."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _nested_model(args[0])
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _nested_model(arg)
            if found:
                return found
        return None
    if origin is list:
        found = _nested_model(args[0])
        return (found[0], "[]" + found[1]) if found else None
    if origin is dict:
        found = _nested_model(args[1])
        return (found[0], ".<key>" + found[1]) if found else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None


def schema_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str]]:
    """``(dotted path, type, description)`` of every field, nested models expanded."""
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        if info.exclude:  # never written (API keys)
            continue
        path = f"{prefix}{name}"
        rows.append((path, _type_text(info.annotation), info.description or ""))
        nested = _nested_model(info.annotation)
        if nested is not None:
            child, suffix = nested
            rows.extend(schema_fields(child, f"{path}{suffix}."))
    return rows


def schema_markdown(model: type[BaseModel]) -> str:
    """A markdown table of ``schema_fields(model)``."""
    lines = ["| Key | Type | Meaning |", "|---|---|---|"]
    for path, kind, description in schema_fields(model):
        lines.append(f"| `{path}` | {kind} | {description} |")
    return "\n".join(lines)
