"""`check_repository`: run every check of a content repository, with no model and no network."""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from osmosis_local.checks.content_import import content_imports, forget_imports_under
from osmosis_local.checks.dataset_checks import check_dataset
from osmosis_local.checks.findings import (
    AREAS,
    Area,
    CheckReport,
    DatasetInfo,
    Findings,
    ProbeOutcome,
    ScorerInfo,
    ToolInfo,
)
from osmosis_local.checks.links import check_links
from osmosis_local.checks.mcp_checks import check_mcp
from osmosis_local.checks.places import exception_place, one_line
from osmosis_local.checks.reward_probes import DEFAULT_PROBE_ROWS, probe_set, run_probes
from osmosis_local.checks.rollout_checks import check_rollout_server
from osmosis_local.checks.scaffold_todos import check_scaffold_todos
from osmosis_local.checks.scorer_checks import LoadedScorer, check_scorers, scorer_mode
from osmosis_local.checks.watchdog import DEFAULT_STEP_TIMEOUT_S, Stuck, Watchdog
from osmosis_local.content.dataset import DatasetRow

__all__ = ["CheckConfig", "check_repository"]

DEFAULT_DATASET = "test_data.jsonl"


class CheckConfig(BaseModel):
    """What `osmosis-local check` inspects."""

    path: Path = Field(default=Path("."), description="the content repository")
    datasets: list[Path] = Field(default_factory=list, description="datasets besides test_data.jsonl")
    eval_fns: list[str] = Field(default_factory=list, description="module:function rewards for the self-check")
    serve: bool = Field(default=True, description="also serve mcp/main.py and compare its tools")
    step_timeout: float = Field(
        default=DEFAULT_STEP_TIMEOUT_S, gt=0, description="seconds an import step may take (the CLI's watchdog)"
    )
    probe_rows: int = Field(default=DEFAULT_PROBE_ROWS, ge=0, description="rows each reward is probed on")


def _given_scorers(repo: Path, specs: list[str], found: list[LoadedScorer], findings: Findings) -> list[LoadedScorer]:
    """The --eval-fn rewards (already found ones reused); a spec that does not load is an error."""
    by_spec = {s.info.spec: s for s in found}
    chosen: list[LoadedScorer] = []
    for spec in specs:
        if spec in by_spec:
            chosen.append(by_spec[spec])
            continue
        module_name, _, attr = spec.rpartition(":")
        try:
            fn = getattr(importlib.import_module(module_name), attr)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the finding
            file, line = exception_place(exc, repo)
            findings.error(
                "eval-fn-not-loaded",
                f"--eval-fn {spec}: {one_line(exc)}",
                "give module:function relative to the repository, e.g. reward_fn.compute_reward:fn",
                file,
                line,
            )
            continue
        info = ScorerInfo(spec=spec, decorator="osmosis_reward", file=spec, line=1, imported=True, mode=scorer_mode(fn))
        chosen.append(LoadedScorer(info=info, fn=fn))
    return chosen


# The order check_repository goes through the areas (the report lists them in AREAS order).
CHECK_ORDER: tuple[Area, ...] = ("mcp", "rollout_server", "reward_fn", "reward_rubric", "dataset", "probes")


@dataclass
class _Progress:
    """What the check has found so far (the report of a check stopped by its watchdog is built from it)."""

    repo: Path
    started: float
    areas: dict[Area, Findings] = field(default_factory=lambda: {area: Findings(area) for area in AREAS})
    tools: list[ToolInfo] = field(default_factory=list)
    scorers: list[ScorerInfo] = field(default_factory=list)
    agent_loop: str | None = None

    def report(self, datasets: list[DatasetInfo] | None = None, probes: list[ProbeOutcome] | None = None
               ) -> CheckReport:  # fmt: skip
        return _report(self.repo, self.areas, self.tools, self.scorers, datasets or [], probes or [], self.started,
                       self.agent_loop)  # fmt: skip

    def stuck(self, stuck: Stuck, timeout_s: float) -> CheckReport:
        """The report so far, with the step that overran as an error at the place it is stuck."""
        place = f" (stuck at {stuck.file}:{stuck.line})" if stuck.file else ""
        self.areas[stuck.area].error(  # type: ignore[index]
            "check-step-timeout",
            f"{stuck.step} did not finish within {timeout_s:g} s{place}; the check stopped here",
            "module-level code must return quickly: an endless loop or a blocking call at import time hangs the "
            "platform's loader too (move the work into a function)",
            stuck.file,
            stuck.line,
        )
        report = self.report()
        if stuck.area in CHECK_ORDER:
            report.unchecked = list(CHECK_ORDER[CHECK_ORDER.index(stuck.area) + 1 :])
        return report


def check_repository(
    config: CheckConfig,
    *,
    on_stuck: Callable[[CheckReport], None] | None = None,
    on_slow: Callable[[str], None] | None = None,
) -> CheckReport:
    """Every check, grouped by area; `ok` is False when any finding is an error.

    With ``on_stuck``, a step that runs user code on this thread (importing the content) has
    ``config.step_timeout`` seconds: when it overruns, ``on_stuck`` gets the report so far (from another thread;
    this one is stuck in user code) and is expected to print it and end the process. ``on_slow(step)`` is told
    of a step that has run for more than a couple of seconds (for progress output).
    """
    progress = _Progress(repo=config.path.resolve(), started=time.perf_counter())
    repo, areas = progress.repo, progress.areas
    if not repo.is_dir():
        areas["mcp"].error("repo-missing", f"{config.path} is not a folder", "give the repository's folder")
        return progress.report()
    watchdog = None
    if on_stuck is not None:
        report_stuck = on_stuck
        watchdog = Watchdog(repo, lambda s: report_stuck(progress.stuck(s, config.step_timeout)),
                            timeout_s=config.step_timeout, on_slow=on_slow)  # fmt: skip

    def step(what: str, area: Area, deadline: bool = True) -> contextlib.AbstractContextManager[None]:
        return watchdog.step(what, area, deadline=deadline) if watchdog is not None else contextlib.nullcontext()

    check_links(repo, areas)
    check_scaffold_todos(repo, areas)

    with forget_imports_under(repo / "mcp"), step("checking mcp/ (its tools, and serving main.py)", "mcp", False):
        progress.tools = check_mcp(repo, areas["mcp"], serve=config.serve,
                                   import_step=lambda: step("importing mcp/main.py and its tools", "mcp"))  # fmt: skip
    with step("importing rollout_server/", "rollout_server"):
        progress.agent_loop = check_rollout_server(repo, areas["rollout_server"])
    with content_imports(repo):
        with step("importing reward_fn/", "reward_fn"):
            rewards, reward_infos = check_scorers(repo, "reward_fn", areas["reward_fn"])
        with step("importing reward_rubric/", "reward_rubric"):
            rubrics, rubric_infos = check_scorers(repo, "reward_rubric", areas["reward_rubric"])
        progress.scorers = reward_infos + rubric_infos
        if config.eval_fns:
            scored = _given_scorers(repo, config.eval_fns, rewards + rubrics, areas["dataset"])
        else:
            scored = [s for s in rewards if s.info.decorator == "osmosis_reward"]
        scored = [s for s in scored if s.info.mode in ("simple", "full")]
        judged = [s for s in scored if s.info.decorator == "osmosis_rubric"]
        for scorer in judged:
            areas["dataset"].warning(
                "rubric-not-self-checked",
                f"{scorer.info.spec} is a rubric: it needs a judge model, so its ground truths are not self-checked",
                "give a reward_fn/ function as --eval-fn for the self-check",
                scorer.info.file,
                scorer.info.line,
            )
        deterministic = [s for s in scored if s not in judged]
        with step("checking the datasets (every row, the ground-truth self-check)", "dataset", deadline=False):
            datasets, probe_rows = _check_datasets(repo, config, deterministic, areas["dataset"])
        probed = [s for s in rewards if s.info.mode in ("simple", "full")]
        probed += [s for s in deterministic if s.info.spec not in {p.info.spec for p in probed}]
        with step("probing the rewards", "probes", deadline=False):
            probes = run_probes(probed, probe_rows, areas["probes"], sample=config.probe_rows)
    return progress.report(datasets, probes)


def _check_datasets(
    repo: Path, config: CheckConfig, scorers: list[LoadedScorer], findings: Findings
) -> tuple[list[DatasetInfo], list[DatasetRow]]:
    paths = ([repo / DEFAULT_DATASET] if (repo / DEFAULT_DATASET).is_file() else []) + list(config.datasets)
    if not paths:
        findings.warning(
            "dataset-missing",
            f"no {DEFAULT_DATASET} and no --dataset: nothing to test against",
            f"add {DEFAULT_DATASET} with system_prompt, user_prompt and ground_truth rows",
        )
    infos: list[DatasetInfo] = []
    first_rows: list[DatasetRow] = []
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        info, rows = check_dataset(path, repo, scorers, findings)
        if info is not None:
            infos.append(info)
            first_rows = first_rows or rows
    return infos, first_rows


def _report(
    repo: Path,
    areas: dict[Area, Findings],
    tools: list[ToolInfo],
    scorers: list[ScorerInfo],
    datasets: list[DatasetInfo],
    probes: list[ProbeOutcome],
    started: float,
    agent_loop: str | None = None,
) -> CheckReport:
    findings = [f for area in AREAS for f in areas[area].items]
    errors = sum(f.severity == "error" for f in findings)
    return CheckReport(
        repository=str(repo),
        ok=errors == 0,
        errors=errors,
        warnings=len(findings) - errors,
        duration_s=round(time.perf_counter() - started, 3),
        findings=findings,
        tools=tools,
        agent_loop=agent_loop,
        scorers=scorers,
        datasets=datasets,
        probe_set=probe_set(),
        probes=probes,
    )
