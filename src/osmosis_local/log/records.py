"""What one finished run is (`RunRecord`) and what a transcript log says about how it was made (`LogHeader`).

A transcript log is JSON lines: a `LogHeader` first, then one `RunRecord` per finished run. The same
records feed the console, the `-o` results and, through `--resume`, the next run.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from osmosis_local import __version__

HEADER_KEY = "#header"


def run_key(row_index: int, run_index: int, model_tag: str = "primary") -> str:
    """The record key the runner and ``--resume`` agree on: ``row-<i>/run-<k>/<model_tag>``."""
    return f"row-{row_index}/run-{run_index}/{model_tag}"


class TokenUsage(BaseModel):
    """Tokens one rollout spent on the policy model (judge tokens are counted separately)."""

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int = Field(default=0, description="prompt tokens over all LLM calls")
    completion_tokens: int = Field(default=0, description="completion tokens over all LLM calls")
    total_tokens: int = Field(default=0, description="their sum")
    num_llm_calls: int = Field(default=0, description="LLM calls made")


class ToolCallRecord(BaseModel):
    """One executed tool call: what the model asked for and what it got back."""

    model_config = ConfigDict(extra="ignore")

    call_id: str
    name: str
    arguments: Any = Field(description="as the model sent them (usually a JSON string)")
    content: str = Field(description="the tool message the model read next")
    is_error: bool
    duration_ms: float


class RunRecord(BaseModel):
    """One finished rollout (and, in `eval`, its scores): a line of the transcript log."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["run"] = "run"
    key: str
    command: Literal["test", "eval"]
    row_index: int
    run_index: int = 0
    model_tag: str = "primary"
    model: str
    seed: int | None = None
    success: bool = Field(description="the rollout finished without an error")
    error: str | None = None
    systemic: bool = Field(default=False, description="the error would break every run (bad key, unknown model)")
    finish_reason: str
    scores: dict[str, float] = Field(default_factory=dict)
    score_errors: dict[str, str] = Field(default_factory=dict)
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    started_at: str = ""
    duration_ms: float = 0.0
    ground_truth: str = ""
    answer: str = Field(default="", description="the last assistant text: what a simple-mode eval fn scores")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.token_usage.total_tokens


class LogSettings(BaseModel):
    """The settings a resumed eval must share with the log it continues; any difference is refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    dataset_sha256: str
    model: str
    base_url: str | None
    baseline_model: str | None = None
    baseline_base_url: str | None = None
    eval_fns: list[str] = Field(default_factory=list)
    max_turns: int
    temperature: float | None
    max_tokens: int | None
    seed: int | None
    tools_sha256: str
    harness_version: str = __version__

    def differences(self, other: LogSettings) -> list[str]:
        """One ``name: log has X, this run has Y`` line per differing setting."""
        lines = []
        for name in type(self).model_fields:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                lines.append(f"{name}: the log has {mine!r}, this run has {theirs!r}")
        return lines


class LogRunInfo(BaseModel):
    """Settings of the run that a resume may change (so they are not compared), kept for rescore and view."""

    model_config = ConfigDict(extra="ignore")

    mcp: str = ""
    n_runs: int = 1
    pass_threshold: float = 1.0
    limit: int | None = None
    offset: int = 0
    batch_size: int = 1
    rescore_of: str | None = None


class LogHeader(BaseModel):
    """The first line of a transcript log."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["header"] = "header"
    key: str = HEADER_KEY
    command: Literal["test", "eval", "rescore"]
    created_at: str = Field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    dataset: str
    settings: LogSettings
    run: LogRunInfo = Field(default_factory=LogRunInfo)
