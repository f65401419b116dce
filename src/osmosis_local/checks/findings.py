"""The typed report of `osmosis-local check`: findings (severity, place, hint), what was found, probe outcomes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning"]
Area = Literal["mcp", "reward_fn", "reward_rubric", "rollout_server", "dataset", "probes"]
ProbeKind = Literal["must_not_score", "must_score", "no_better_than_memory"]

#: Areas in report order (the folder a finding belongs to).
AREAS: tuple[Area, ...] = ("mcp", "reward_fn", "reward_rubric", "rollout_server", "dataset", "probes")


class Finding(BaseModel):
    """One problem, where it is, and how to fix it."""

    severity: Severity = Field(description="error: the platform or the SDK would fail; warning: it works, badly")
    area: Area = Field(description="the folder (or dataset / reward probes) the finding belongs to")
    code: str = Field(description="stable identifier of the kind of finding, e.g. tool-no-description")
    message: str = Field(description="what is wrong")
    hint: str = Field(description="how to fix it")
    file: str | None = Field(default=None, description="path relative to the repository (or as given)")
    line: int | None = Field(default=None, description="1-based line in `file`, when known")

    @property
    def place(self) -> str:
        """`file:line`, `file`, or an empty string."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


class ToolInfo(BaseModel):
    """A tool the imported `mcp/main.py` registers."""

    name: str = Field(description="tool name")
    file: str | None = Field(default=None, description="file of the tool function")
    line: int | None = Field(default=None, description="line of its `def`")


class ScorerInfo(BaseModel):
    """An `@osmosis_reward` / `@osmosis_rubric` function found in the source."""

    spec: str = Field(description="`module:function`, as given to --eval-fn")
    decorator: Literal["osmosis_reward", "osmosis_rubric"] = Field(description="the decorator it carries")
    file: str = Field(description="its file")
    line: int = Field(description="line of its `def`")
    imported: bool = Field(description="the module imported and the function is callable")
    mode: Literal["simple", "full", "other"] | None = Field(
        default=None, description="simple: first parameter solution_str; full: messages; None if not imported"
    )


class DatasetInfo(BaseModel):
    """A dataset that was checked."""

    path: str = Field(description="the file")
    rows: int = Field(description="valid rows (every row is read)")


class ProbeSpec(BaseModel):
    """One kind of probe answer (the probe set is documented in the README)."""

    name: str = Field(description="probe name, e.g. hedge-or")
    kind: ProbeKind = Field(
        description="must_not_score: a gamed answer that must score 0; must_score: a correct one; "
        "no_better_than_memory: a full-mode transcript that must score no more than the bare answer"
    )
    description: str = Field(description="what the answer looks like")


class ProbeOutcome(BaseModel):
    """One probe answer scored by one reward on one row."""

    spec: str = Field(description="the reward, `module:function`")
    row_index: int = Field(description="the dataset row whose ground truth the probe was built from")
    probe: str = Field(description="probe name")
    kind: ProbeKind = Field(description="what the probe expects")
    answer: str = Field(description="the probe answer (cut to 200 characters)")
    score: float | None = Field(description="the reward's score; None if it raised or timed out")
    error: str | None = Field(default=None, description="why there is no score")
    ok: bool = Field(description="must_not_score: scored 0; must_score: scored above 0")


class CheckReport(BaseModel):
    """What `osmosis-local check --format json` prints."""

    repository: str = Field(description="the checked folder")
    ok: bool = Field(description="no errors (warnings allowed): exit code 0")
    errors: int = Field(description="number of error findings")
    warnings: int = Field(description="number of warning findings")
    duration_s: float = Field(description="seconds the check took")
    findings: list[Finding] = Field(description="every finding, grouped by area in report order")
    tools: list[ToolInfo] = Field(description="tools of the imported mcp/main.py")
    agent_loop: str | None = Field(
        default=None, description="the name of rollout_server/server.py's agent_loop (null: none, or it did not load)"
    )
    scorers: list[ScorerInfo] = Field(description="reward and rubric functions found in the source")
    datasets: list[DatasetInfo] = Field(description="datasets checked")
    probe_set: list[ProbeSpec] = Field(description="the probe answers built for each deterministic reward")
    probes: list[ProbeOutcome] = Field(description="every probe answer scored, with its outcome")
    unchecked: list[Area] = Field(
        default_factory=list,
        description="areas the check never reached: a step before them overran --step-timeout and the check stopped",
    )


class Findings:
    """Collects findings for one area."""

    def __init__(self, area: Area) -> None:
        self.area = area
        self.items: list[Finding] = []

    def add(
        self, severity: Severity, code: str, message: str, hint: str, file: str | None = None, line: int | None = None
    ) -> None:
        """Record one finding."""
        self.items.append(
            Finding(severity=severity, area=self.area, code=code, message=message, hint=hint, file=file, line=line)
        )

    def error(self, code: str, message: str, hint: str, file: str | None = None, line: int | None = None) -> None:
        """Record an error."""
        self.add("error", code, message, hint, file, line)

    def warning(self, code: str, message: str, hint: str, file: str | None = None, line: int | None = None) -> None:
        """Record a warning."""
        self.add("warning", code, message, hint, file, line)
