"""Outputs that would eat inputs, output paths that cannot be written, logs that belong to another run, and
paths that move when a tool changes folder: each is refused (exit 2, one line naming the flag) before any work,
or, when it can only fail at the end, the results are still shown and the log kept.

Real parts: the repository's tools and dataset, the scripted-policy TEST DOUBLE behind a real HTTP endpoint,
real files and folders, a second real process holding a log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import DATASET, MCP_DIR, NUMBERS, eval_argv, jsonl

from osmosis_local.cli import main
from osmosis_local.config.paths import check_outputs, same_file
from osmosis_local.errors import OutputPathError


@pytest.fixture
def evaluated(tmp_path: Path, policy) -> Path:  # type: ignore[no-untyped-def]
    """A finished eval's log (``runs.jsonl``) and results (``out.json``) in ``tmp_path``."""
    assert main(eval_argv(policy.base_url, tmp_path, limit=2)) == 0
    return tmp_path


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


# -- an output that is one of the inputs -------------------------------------------------------------------


def test_view_refuses_to_write_its_report_over_the_log(evaluated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = evaluated / "runs.jsonl"
    before = log.read_bytes()
    _refused(["view", str(log), "-o", str(log)], capsys, "-o", "which this command reads")
    link = evaluated / "link.jsonl"
    link.symlink_to(log)
    _refused(["view", str(evaluated / "out.json"), "-o", str(link)], capsys, "its transcript log")
    assert log.read_bytes() == before


def test_rescore_refuses_to_append_to_its_own_source(evaluated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = evaluated / "runs.jsonl"
    before = log.read_bytes()
    _refused(["rescore", str(log), "--eval-fn", NUMBERS, "--log", str(log)], capsys, "the log being rescored")
    _refused(["rescore", str(log), "--eval-fn", NUMBERS, "-o", str(log)], capsys, "the log being rescored")
    assert log.read_bytes() == before


@pytest.mark.parametrize("flag", ["--log", "-o"])
def test_eval_refuses_to_write_over_its_dataset(
    tmp_path: Path, policy, flag: str, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    data = tmp_path / "data.jsonl"
    shutil.copy(DATASET, data)
    before = data.read_bytes()
    argv = ["eval", "--mcp", str(MCP_DIR), "-d", str(data), "--eval-fn", NUMBERS, "--model", "scripted",
            "--base-url", policy.base_url, flag, str(data)]  # fmt: skip
    _refused(argv, capsys, flag, "the dataset (-d)")
    assert data.read_bytes() == before
    assert policy.requests == []  # refused before any request


def test_eval_refuses_one_file_for_both_outputs(tmp_path: Path, policy, capsys) -> None:  # type: ignore[no-untyped-def]
    both = str(tmp_path / "same.json")
    _refused(eval_argv(policy.base_url, tmp_path, "-o", both, "--log", both), capsys, "both name")


# -- output paths that cannot be written ------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["a folder", "under a file"])
@pytest.mark.parametrize("command", ["eval -o", "eval --log", "test -o", "view -o", "export -o", "rescore -o"])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    evaluated: Path, policy, command: str, shape: str, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    (evaluated / "folder").mkdir()
    (evaluated / "file").write_text("x")
    bad = str(evaluated / "folder") if shape == "a folder" else str(evaluated / "file" / "out.json")
    if command == "export -o" and shape == "under a file":
        bad = str(evaluated / "file" / "out.eval")
    name, flag = command.split()
    log = str(evaluated / "runs.jsonl")
    argv = {
        "eval": eval_argv(policy.base_url, evaluated, flag, bad, name="new", output="new"),
        "test": ["test", "--mcp", str(MCP_DIR), "-d", str(DATASET), "--model", "scripted", "--base-url",
                 policy.base_url, "--limit", "1", "-q", flag, bad],
        "view": ["view", log, flag, bad],
        "export": ["export", log, flag, bad],
        "rescore": ["rescore", log, "--eval-fn", NUMBERS, flag, bad, "--log", str(evaluated / "r.jsonl")],
    }[name]  # fmt: skip
    requests_before = len(policy.requests)
    _refused(argv, capsys, flag, "folder" if shape == "a folder" else "is a file")
    assert len(policy.requests) == requests_before


def test_export_refuses_an_extension_it_cannot_write(evaluated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(["export", str(evaluated / "runs.jsonl"), "-o", str(evaluated / "x.parquet")], capsys,
             "unknown extension .parquet", ".eval or .json")  # fmt: skip
    assert not (evaluated / "x.parquet").exists()


def test_results_that_cannot_be_written_at_the_end_are_still_shown_and_the_log_kept(
    tmp_path: Path, policy, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    """The ``-o`` folder turns into a file while the eval runs (as a full disk would fail the write)."""

    folder = tmp_path / "results"
    argv = eval_argv(policy.base_url, tmp_path, "-o", str(folder / "out.json"), quiet=False)
    responder = policy.responder

    def sabotage(body):  # type: ignore[no-untyped-def]
        if folder.is_dir():
            shutil.rmtree(folder)
        if not folder.exists():
            folder.write_text("not a folder any more")
        return responder(body)

    policy.responder = sabotage
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1
    assert "Eval Results" in captured.out  # the table is printed all the same
    assert "could not be written" in captured.err + captured.out
    assert len([r for r in jsonl(tmp_path / "runs.jsonl") if r.get("kind") == "run"]) == 4


# -- a log belongs to one run ----------------------------------------------------------------------------


def test_reusing_a_log_is_refused_and_resume_is_offered(evaluated: Path, policy, capsys) -> None:  # type: ignore[no-untyped-def]
    log = evaluated / "runs.jsonl"
    before = log.read_bytes()
    err = _refused(eval_argv(policy.base_url, evaluated, "--model", "another", output="second", limit=2), capsys,
                   "already holds a run", f"--resume {log}")  # fmt: skip
    assert "--resume" in err
    assert log.read_bytes() == before
    _refused(["test", "--mcp", str(MCP_DIR), "-d", str(DATASET), "--model", "scripted", "--base-url", policy.base_url,
              "--log", str(log)], capsys, "already holds a run")  # fmt: skip
    assert main(["rescore", str(log), "--eval-fn", NUMBERS, "-q", "--log", str(evaluated / "again.jsonl")]) == 0
    assert main(["view", str(log), "-o", str(evaluated / "r.html")]) == 0


@pytest.mark.parametrize("where", ["nothing is there", "a folder"])
def test_resume_from_a_log_that_does_not_exist_is_refused_before_any_work(
    tmp_path: Path, policy, capsys, where: str  # type: ignore[no-untyped-def]
) -> None:
    missing = tmp_path / "typo.jsonl"
    if where == "a folder":
        missing.mkdir()
    argv = eval_argv(policy.base_url, tmp_path, limit=2)
    argv = argv[: argv.index("--log")] + ["--resume", str(missing)]
    _refused(argv, capsys, f"--resume {missing}: no such log ({where})", "give --log instead")
    assert policy.requests == []  # not even the preflight: nothing was paid for
    assert not (tmp_path / "out.json").exists() and (missing.is_dir() or not missing.exists())


def test_a_log_another_process_is_writing_is_refused(tmp_path: Path, policy, capsys) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "busy.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(log)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        _refused(eval_argv(policy.base_url, tmp_path, "--log", str(log), limit=1), capsys,
                 "being written by another run")  # fmt: skip
        assert policy.requests == []
    finally:
        holder.kill()
        holder.wait()


# -- paths are resolved once, at the start ---------------------------------------------------------------


def test_a_tool_that_changes_folder_moves_no_output_and_rescore_works_from_anywhere(
    tmp_path: Path, policy, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    shutil.copy(DATASET, work / "data.jsonl")
    monkeypatch.chdir(work)
    responder = policy.responder

    def wander(body):  # type: ignore[no-untyped-def]
        import os

        os.chdir(elsewhere)  # what a tool calling os.chdir does to the whole process
        return responder(body)

    policy.responder = wander
    code = main(["eval", "--mcp", str(MCP_DIR), "-d", "data.jsonl", "--eval-fn", NUMBERS, "--model", "scripted",
                 "--base-url", policy.base_url, "--limit", "2", "-q", "-o", "out.json",
                 "--log", "runs.jsonl"])  # fmt: skip
    assert code == 0
    assert (work / "out.json").is_file() and (work / "runs.jsonl").is_file()
    assert not (elsewhere / "out.json").exists()
    header = jsonl(work / "runs.jsonl")[0]
    assert Path(header["settings"]["dataset"]) == work / "data.jsonl"
    monkeypatch.chdir(elsewhere)
    assert main(["rescore", str(work / "runs.jsonl"), "--eval-fn", NUMBERS, "-q", "--log", "rescored.jsonl"]) == 0
    assert (elsewhere / "rescored.jsonl").is_file()


# -- the checks themselves, as a table ---------------------------------------------------------------------


def test_check_outputs_names_every_problem_at_once(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("{}\n")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OutputPathError) as info:
        check_outputs({"-o": data, "--log": tmp_path / "dir"}, {"the dataset": data})
    text = str(info.value)
    assert "-o" in text and "the dataset" in text and "--log" in text and "is a folder" in text


def test_same_file_sees_through_links_and_dots(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("{}")
    (tmp_path / "soft").symlink_to(target)
    (tmp_path / "hard").hardlink_to(target)
    (tmp_path / "sub").mkdir()
    for other in (tmp_path / "soft", tmp_path / "hard", tmp_path / "sub" / ".." / "a.json"):
        assert same_file(target, other)
    assert not same_file(target, tmp_path / "b.json")
    assert json.loads(target.read_text()) == {}
