"""`osmosis-local check` and `osmosis-local new` end to end: the real repository, the CLI, JSON, scaffolds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO
from test_check_fixtures import build_fixture

from osmosis_local.checks import CheckConfig, CheckReport, check_repository
from osmosis_local.checks.reward_probes import PROBES

CLI = str(Path(sys.executable).parent / "osmosis-local")
ENV = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off"}


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120)


def test_the_real_repository_checks_clean_with_every_check_on():
    done = run_cli("check", "--format", "json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = CheckReport.model_validate_json(done.stdout)
    assert report.ok and report.errors == 0 and report.warnings == 0, report.findings
    assert {t.name for t in report.tools} >= {"add", "subtract", "multiply", "divide", "round_number"}
    assert "reward_fn.compute_reward:numbers_match_reward" in {s.spec for s in report.scorers}
    assert report.datasets[0].path == "test_data.jsonl" and report.datasets[0].rows == 240
    assert report.probes and all(p.ok for p in report.probes)
    assert [p.name for p in report.probe_set] == [*(p.name for p in PROBES), "tool-spray"]
    sprayed = [p for p in report.probes if p.probe == "tool-spray"]
    assert sprayed and {p.spec for p in sprayed} == {"reward_fn.tool_use_reward:tool_use_reward"}
    assert all(p.ok and p.score is not None and p.score <= 0.5 for p in sprayed)  # spraying earns no more


def test_probe_set_covers_the_gaming_and_near_miss_kinds():
    by_kind = {p.name: p.kind for p in PROBES}
    for name in ("hedge-or", "markers-wrong-then-right", "expression", "flood", "empty", "huge", "injection"):
        assert by_kind[name] == "must_not_score"
    for name in ("thousands-separator", "currency"):
        assert by_kind[name] == "must_score"


def test_cli_exits_1_and_prints_place_message_and_fix(tmp_path):
    repo = build_fixture("tool_no_description", tmp_path)
    done = run_cli("check", str(repo), "--no-serve")
    assert done.returncode == 1
    assert "mcp/tools/arithmetic.py:10" in done.stdout
    assert "tool 'add' has no description" in done.stdout
    assert "fix: add a docstring" in done.stdout
    assert "1 error" in done.stdout


def test_strict_exits_1_on_a_warning(tmp_path):
    repo = build_fixture("tool_module_empty", tmp_path)
    assert run_cli("check", str(repo), "--no-serve", "--strict").returncode == 1
    assert run_cli("check", str(build_fixture("base", tmp_path / "b")), "--no-serve", "--strict").returncode == 0


def test_cli_json_exit_code_follows_errors_not_warnings(tmp_path):
    repo = build_fixture("tool_module_empty", tmp_path)
    done = run_cli("check", str(repo), "--no-serve", "--format", "json")
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["warnings"] == 1
    assert data["findings"][0] | {"hint": None} == {
        "severity": "warning", "area": "mcp", "code": "tool-module-empty", "hint": None,
        "message": "helpers.py is a tool module but defines no tool", "file": "mcp/tools/helpers.py", "line": 1,
    }  # fmt: skip


def test_markup_in_a_finding_is_printed_as_text(tmp_path):
    repo = build_fixture("base", tmp_path)
    row = {"system_prompt": "s", "user_prompt": "[bold]u[/bold]", "ground_truth": "[/x]"}
    (repo / "test_data.jsonl").write_text(json.dumps(row) + "\n")
    done = run_cli("check", str(repo), "--no-serve")
    assert done.returncode == 1
    assert "'[/x]' can never be matched" in done.stdout


def test_extra_datasets_are_checked_and_a_missing_one_is_an_error(tmp_path):
    repo = build_fixture("base", tmp_path)
    extra = tmp_path / "more.jsonl"
    extra.write_text('{"system_prompt": "s", "user_prompt": "u", "ground_truth": "12"}\n' * 4)
    report = check_repository(CheckConfig(path=repo, datasets=[extra, tmp_path / "missing.jsonl"], serve=False))
    assert [d.rows for d in report.datasets] == [3, 4]
    unreadable = [f for f in report.findings if f.code == "dataset-unreadable"]
    assert len(unreadable) == 1 and "not found" in unreadable[0].message
    assert not report.ok


def test_given_eval_fns_are_used_and_bad_or_judged_ones_reported(tmp_path):
    repo = build_fixture("base", tmp_path)
    specs = ["reward_fn.exact:exact_reward", "reward_rubric.judge:judge", "reward_fn.nope:x"]
    report = check_repository(CheckConfig(path=repo, serve=False, eval_fns=specs))
    codes = {f.code: f for f in report.findings}
    assert codes["rubric-not-self-checked"].severity == "warning"
    assert "reward_fn.nope" in codes["eval-fn-not-loaded"].message
    assert report.errors == 1


def test_probe_rows_zero_runs_no_probes(tmp_path):
    report = check_repository(CheckConfig(path=build_fixture("base", tmp_path), serve=False, probe_rows=0))
    assert report.probes == [] and report.ok


def test_new_tool_reward_and_rubric_check_clean_and_the_tool_test_passes(tmp_path):
    repo = build_fixture("base", tmp_path)
    for kind, name in (("tool", "word_count"), ("reward", "strict_match"), ("rubric", "second_judge")):
        done = run_cli("new", kind, name, "--path", str(repo))
        assert done.returncode == 0, done.stderr
    with (repo / "mcp" / "tools" / "__init__.py").open("a") as fh:
        fh.write("from tools import word_count  # noqa: F401\n")  # base/ imports its tool modules by name
    report = check_repository(CheckConfig(path=repo, eval_fns=["reward_fn.strict_match:strict_match"]))
    # clean but for the placeholders `new` leaves for a person to fill in: one warning per file, at the first
    todos = [(f.code, f.file, f.line) for f in report.findings]
    assert todos == [("scaffold-todo", "mcp/tools/word_count.py", 1),
                     ("scaffold-todo", "reward_rubric/second_judge.py", 14)], report.findings  # fmt: skip
    assert report.ok
    assert "word_count" in {t.name for t in report.tools}
    assert {"reward_fn.strict_match:strict_match", "reward_rubric.second_judge:second_judge"} <= {
        s.spec for s in report.scorers
    }
    assert all(p.ok for p in report.probes if p.spec == "reward_fn.strict_match:strict_match")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=repo,
                           env=ENV, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout[-2000:]


def test_new_tool_in_the_real_layout_is_registered_without_edits(tmp_path):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(REPO / "mcp", repo / "mcp", ignore=shutil.ignore_patterns("__pycache__"))
    assert run_cli("new", "tool", "echo_text", "--path", str(repo)).returncode == 0
    report = check_repository(CheckConfig(path=repo, serve=False))
    assert "echo_text" in {t.name for t in report.tools}
    assert [f.code for f in report.findings if f.area == "mcp"] == ["scaffold-todo"]
    tool = repo / "mcp" / "tools" / "echo_text.py"
    tool.write_text(tool.read_text().replace("TODO: say what it is for.", "Echo text back, stripped.").replace(
        "TODO: say what echo_text does and what it returns;", "Return the text without surrounding spaces;"))
    report = check_repository(CheckConfig(path=repo, serve=False))
    assert not [f for f in report.findings if f.area == "mcp"]  # filled in: clean


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tool", "9bad"), "is not a usable name"),
        (("reward", "class"), "is a Python keyword"),
        (("tool", "add"), "a tool named 'add' already exists (mcp/tools/arithmetic.py:9)"),
        (("reward", "exact"), "already exists"),
    ],
)
def test_new_refuses_bad_names_and_never_overwrites(tmp_path, args, message):
    repo = build_fixture("base", tmp_path)
    before = (repo / "reward_fn" / "exact.py").read_text()
    done = run_cli("new", *args, "--path", str(repo))
    assert done.returncode == 1 and message in done.stderr
    assert (repo / "reward_fn" / "exact.py").read_text() == before


def test_new_tool_needs_a_server_module(tmp_path):
    done = run_cli("new", "tool", "word_count", "--path", str(tmp_path))
    assert done.returncode == 1 and "has no mcp/server.py" in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_readme_documents_the_check_json_schema_and_the_probe_set():
    from osmosis_local.checks.reward_probes import probe_table
    from osmosis_local.log.results import schema_fields, schema_markdown

    text = (REPO / "README.md").read_text()
    for marker, expected in (("results-schema:check", schema_markdown(CheckReport)), ("check-probes", probe_table())):
        start, end = text.index(f"<!-- {marker}:start -->"), text.index(f"<!-- {marker}:end -->")
        assert text[start:end].split("\n", 1)[1].strip() == expected, "run: python scripts/update_readme_schema.py"
    assert all(description for _, _, description in schema_fields(CheckReport))


def test_json_stays_parseable_when_content_code_prints(tmp_path):
    repo = build_fixture("base", tmp_path)
    exact = repo / "reward_fn" / "exact.py"
    exact.write_text('print("importing the reward")\n' + exact.read_text())
    done = run_cli("check", str(repo), "--no-serve", "--format", "json")
    assert done.returncode == 0
    assert CheckReport.model_validate_json(done.stdout).ok
    assert "importing the reward" in done.stderr


def test_the_python_api_checks_and_leaves_no_content_modules_behind(tmp_path):
    import osmosis_local

    before = set(sys.modules)
    report = osmosis_local.check_repository(osmosis_local.CheckConfig(path=build_fixture("base", tmp_path)))
    assert isinstance(report, osmosis_local.CheckReport) and report.ok
    content = ("server", "tools", "reward_fn", "reward_rubric")
    leaked = {m for m in set(sys.modules) - before if m.split(".")[0] in content}
    assert not leaked
    assert not [p for p in sys.path if str(tmp_path) in p]


def test_a_key_quoted_by_an_import_error_is_redacted(tmp_path):
    repo = build_fixture("base", tmp_path)
    exact = repo / "reward_fn" / "exact.py"
    exact.write_text('import os\nraise RuntimeError("bad key " + os.environ["MY_JUDGE_API_KEY"])\n' + exact.read_text())
    secret = "sk-check-secret-0123456789"
    argv = [CLI, "check", str(repo), "--no-serve", "--format", "json"]
    env = {**ENV, "MY_JUDGE_API_KEY": secret}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert secret not in done.stdout + done.stderr
    finding = next(f for f in CheckReport.model_validate_json(done.stdout).findings if f.code == "module-import-error")
    assert "bad key" in finding.message


def _main_with_port(repo: Path, port: int) -> None:
    (repo / "mcp" / "main.py").write_text(
        '"""A main.py that hard-codes its port, as the platform example does."""\n\n'
        "import tools  # noqa: F401\nfrom server import mcp\n\n"
        f'if __name__ == "__main__":\n    mcp.run(transport="http", host="0.0.0.0", port={port})\n'
    )


def test_a_port_written_into_main_py_is_used_when_free(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    repo = build_fixture("base", tmp_path)
    _main_with_port(repo, port)
    report = check_repository(CheckConfig(path=repo))
    assert report.findings == [], report.findings


def test_a_port_written_into_main_py_that_is_busy_skips_the_served_comparison(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        repo = build_fixture("base", tmp_path)
        _main_with_port(repo, port)
        report = check_repository(CheckConfig(path=repo))
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("mcp-serve-skipped", "warning")
    assert f"port {port}, which is in use" in finding.message


def test_the_text_report_lists_findings_under_their_folder_one_per_cause_wrapped_at_words(tmp_path):
    import io

    from rich.console import Console

    from osmosis_local.cli.check_report import render_report

    report = check_repository(CheckConfig(path=build_fixture("reward_gameable", tmp_path), serve=False))
    gamed = [f for f in report.findings if "gamed answer" in f.message]
    assert len(gamed) == 1 and "7 kinds of gamed answer" in gamed[0].message  # one finding for one cause
    screen = io.StringIO()
    render_report(report, Console(file=screen, width=80, highlight=False, soft_wrap=True, color_system=None))
    lines = screen.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    block = lines[lines.index(next(line for line in lines if line.startswith("reward_fn/"))):]
    assert block[1].startswith("  ! warning reward_fn/exact.py:7  ")  # under reward_fn/, not "reward probes"
    words = " ".join(" ".join(lines).split())
    assert "(markers-wrong-then-right) '#### 6\\n#### 5' scored 1" in words  # no word was cut in two
    assert next(line for line in lines if line.startswith("reward probes")).endswith(
        "(listed under each reward's folder)"
    )
