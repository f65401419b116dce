"""`osmosis-local check` on broken fixture repositories: each fault is caught at the right place.

Each fixture in tests/check_fixtures/ is base/ plus one realistic fault (see its README). The table
says what `check` must report: severity, code, file, line and a part of the message.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from osmosis_local.checks import CheckConfig, check_repository

FIXTURES = Path(__file__).resolve().parents[1] / "check_fixtures"
SERVED = {"mcp_not_servable", "mcp_served_differs", "mcp_run_at_import"}

# (fixture, severity, code, file, line, message part)
FAULTS = [
    ("tool_no_description", "error", "tool-no-description", "mcp/tools/arithmetic.py", 10, "has no description"),
    ("param_no_description", "error", "param-no-description", "mcp/tools/arithmetic.py", 12, "parameter 'b'"),
    ("param_no_type", "error", "param-no-type", "mcp/tools/arithmetic.py", 12, "'b' of tool 'add' has no type"),
    ("tool_bad_name", "error", "tool-bad-name", "mcp/tools/arithmetic.py", 10, "'add numbers'"),
    ("array_without_items", "error", "schema-array-without-items", "mcp/tools/arithmetic.py", 11, "'values' is an"),
    ("enum_not_strings", "error", "schema-enum-not-strings", "mcp/tools/arithmetic.py", 12, "[0, 1, 2]"),
    ("mcp_init_file", "error", "mcp-init-file", "mcp/__init__.py", None, "shadows the MCP SDK"),
    ("mcp_import_error", "error", "mcp-import-error", "mcp/tools/arithmetic.py", 5, "cannot import name 'Feild'"),
    ("mcp_no_instance", "error", "mcp-no-instance", "mcp/main.py", None, "No FastMCP instance found"),
    ("mcp_no_main", "error", "mcp-no-main", "mcp", None, "no main.py"),
    ("mcp_several_instances", "error", "mcp-sdk-picks-other-instance", "mcp/main.py", None, "serves `app`"),
    ("mcp_run_at_import", "error", "mcp-run-at-import", "mcp/main.py", 8, "starts the server when it is imported"),
    ("sdk_lazy_sibling_import", "warning", "sdk-lazy-sibling-import", "mcp/tools/arithmetic.py", 15, "import server"),
    ("tool_module_empty", "warning", "tool-module-empty", "mcp/tools/helpers.py", 1, "defines no tool"),
    ("tool_not_registered", "warning", "tool-not-registered", "mcp/tools/subtraction.py", 9, "'subtract'"),
    ("tool_name_duplicate", "error", "tool-name-duplicate", "mcp/tools/plus.py", 9, "2 tools are named 'add'"),
    ("sdk_lossy_schema", "warning", "sdk-lossy-schema", "mcp/tools/arithmetic.py", 12, "maximum 10"),
    ("mcp_not_servable", "warning", "mcp-not-servable", "mcp/main.py", None, "does not serve"),
    ("mcp_served_differs", "error", "mcp-served-differs", "mcp/main.py", None, "only served: ['ping']"),
    ("reward_sdk_signature", "error", "sdk-rejects-signature", "reward_fn/exact.py", 10, "Optional[str]"),
    ("reward_bad_signature", "error", "module-import-error", "reward_fn/exact.py", 6, "must be named 'extra_info'"),
    ("reward_returns_int", "error", "sdk-rejects-return", "reward_fn/exact.py", 8, "returns int"),
    ("reward_syntax_error", "error", "python-syntax", "reward_fn/exact.py", 9, "unmatched ')'"),
    ("rubric_decorator_called", "error", "module-import-error", "reward_rubric/judge.py", 6, "applied directly"),
    ("rubric_key_unnamed", "warning", "rubric-key-unnamed", "reward_rubric/judge.py", 7, "ANTHROPIC_API_KEY"),
    ("reward_sprayable", "warning", "probe-scored", "reward_fn/sprayable.py", 8, "rewards spraying tool calls"),
    ("rubric_key_unresolvable", "error", "rubric-key-unresolvable", "reward_rubric/judge.py", 7, "MissingAPIKeyError"),
    ("dataset_empty_ground_truth", "error", "dataset-row-invalid", "test_data.jsonl", 3, "cannot be empty"),
    ("ground_truth_unscorable", "error", "ground-truth-unscorable", "test_data.jsonl", 2, "'x = 42' can never"),
    ("reward_gameable", "warning", "probe-scored", "reward_fn/exact.py", 7, "(markers-wrong-then-right)"),
    ("reward_near_miss", "warning", "probe-near-miss", "reward_fn/exact.py", 7, "'#### 1,234'"),
    ("rollout_run_not_async", "error", "rollout-run-not-async", "rollout_server/server.py", None, "async def run"),
    ("rollout_import_error", "error", "rollout-loop-not-loaded", "rollout_server/server.py", 4, "agent_helpers"),
]  # fmt: skip


def build_fixture(name: str, into: Path) -> Path:
    """base/ with the fixture's files laid over it (and its DELETE list removed)."""
    repo = into / name
    shutil.copytree(FIXTURES / "base", repo, ignore=shutil.ignore_patterns("__pycache__"))
    if name == "base":
        return repo
    overlay = FIXTURES / name
    for source in overlay.rglob("*"):
        if source.is_file() and source.name != "DELETE" and "__pycache__" not in source.parts:
            target = repo / source.relative_to(overlay)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    if (overlay / "DELETE").exists():
        for relative in (overlay / "DELETE").read_text().split():
            (repo / relative).unlink()
    return repo


def test_every_fixture_is_in_the_table():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in ("base", "__pycache__")}
    assert folders == {row[0] for row in FAULTS}
    assert len({row[2] for row in FAULTS}) >= 15  # at least 15 kinds of fault


def test_base_fixture_checks_clean(tmp_path):
    report = check_repository(CheckConfig(path=build_fixture("base", tmp_path)))
    assert report.findings == []
    assert report.ok and [t.name for t in report.tools] == ["add"]
    assert {s.spec for s in report.scorers} == {"reward_fn.exact:exact_reward", "reward_rubric.judge:judge"}
    assert report.probes and all(p.ok for p in report.probes)


@pytest.mark.parametrize(("fixture", "severity", "code", "file", "line", "part"), FAULTS, ids=[r[0] for r in FAULTS])
def test_fault_is_reported_at_its_place(tmp_path, fixture, severity, code, file, line, part):
    report = check_repository(CheckConfig(path=build_fixture(fixture, tmp_path), serve=fixture in SERVED))
    matching = [f for f in report.findings if f.code == code]
    assert matching, [f"{f.code} {f.place} {f.message}" for f in report.findings]
    finding = next((f for f in matching if part in f.message), matching[0])
    assert (finding.severity, finding.file, finding.line) == (severity, file, line)
    assert part in finding.message
    assert finding.hint
    assert report.ok is (severity == "warning" and report.errors == 0)
    assert report.errors == sum(f.severity == "error" for f in report.findings)


def test_a_module_that_fails_to_import_is_still_listed_with_its_functions(tmp_path):
    report = check_repository(CheckConfig(path=build_fixture("reward_bad_signature", tmp_path), serve=False))
    listed = {s.spec: s for s in report.scorers}
    assert listed["reward_fn.exact:exact_reward"].imported is False
    assert listed["reward_fn.exact:exact_reward"].line == 7
    finding = next(f for f in report.findings if f.code == "module-import-error")
    assert "exact_reward cannot be used" in finding.message


def test_a_decorator_written_with_parentheses_gets_that_hint(tmp_path):
    report = check_repository(CheckConfig(path=build_fixture("rubric_decorator_called", tmp_path), serve=False))
    finding = next(f for f in report.findings if f.code == "module-import-error")
    assert finding.hint == "write @osmosis_rubric with no parentheses (line 6)"
