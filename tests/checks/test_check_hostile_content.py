"""`check` on content that hangs, exits or loops forever: it always prints its report, names the file and line,
and ends in bounded time. Each case is the real command in its own process (a stuck import cannot be stopped, so
the process must end without it), on the base fixture with one hostile file laid over it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_check_fixtures import build_fixture

CLI = str(Path(sys.executable).parent / "osmosis-local")
# Long enough that a cold bytecode cache (importing fastmcp can take 2-3 s on a fresh clone) is never the step
# that gets stopped: the stop must land in the hostile file.
STEP = 8

REWARD_HEADER = """
import sys
import time
from osmosis_local import osmosis_reward
"""

CASES = {
    # name: (file, source, what the report must say, where)
    "reward that hangs": (
        "reward_fn/hangs.py",
        REWARD_HEADER + """
@osmosis_reward
def hangs_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    time.sleep(3600)
    return 1.0
""",
        "did not return within 5 s",
        None,
    ),
    "reward that calls sys.exit": (
        "reward_fn/leaves.py",
        REWARD_HEADER + """
@osmosis_reward
def leaves_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    sys.exit(6)
""",
        "raised SystemExit: 6",
        None,
    ),
    "endless loop in main.py": (
        "mcp/main.py",
        "while True:\n    pass\n",
        f"importing mcp/main.py and its tools did not finish within {STEP} s",
        "mcp/main.py:",
    ),
    "endless loop in a tool module": (
        "mcp/tools/spin.py",
        "import time\n\nwhile True:\n    time.sleep(0.01)\n",
        f"did not finish within {STEP} s",
        "mcp/tools/spin.py:",
    ),
    "endless loop in a reward module": (
        "reward_fn/spin.py",
        REWARD_HEADER + """
x = 0
while True:
    x += 1


@osmosis_reward
def spin_reward(solution_str: str, ground_truth: str, extra_info: dict = None, **kwargs) -> float:
    return 1.0
""",
        f"importing reward_fn/ did not finish within {STEP} s",
        "reward_fn/spin.py:",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("output_format", ["text", "json"])
def test_check_always_prints_its_report_in_bounded_time(tmp_path: Path, case: str, output_format: str) -> None:
    relative, source, expected, place = CASES[case]
    repo = build_fixture("base", tmp_path)
    (repo / relative).write_text(textwrap.dedent(source))
    if relative == "mcp/tools/spin.py":
        init = repo / "mcp" / "tools" / "__init__.py"
        init.write_text(init.read_text() + "\nfrom . import spin  # noqa: F401\n")
    started = time.monotonic()
    done = subprocess.run(
        [CLI, "check", str(repo), "--no-serve", "--step-timeout", str(STEP), "--format", output_format],
        capture_output=True, text=True, timeout=120, env={**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off"},
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    if output_format == "json":
        report = json.loads(done.stdout)
        messages = [f"{f['file']}:{f['line']} {f['message']}" for f in report["findings"]]
        assert any(expected in m for m in messages), messages
        if place:
            assert any(m.startswith(place) for m in messages if "did not finish" in m), messages
            # the areas after the stuck step are reported as not checked, never as clean
            stuck_area = "mcp" if place.startswith("mcp/") else "reward_fn"
            order = ["mcp", "rollout_server", "reward_fn", "reward_rubric", "dataset", "probes"]
            assert report["unchecked"] == order[order.index(stuck_area) + 1 :]
        else:
            assert report["unchecked"] == []
    else:
        assert expected in done.stdout, done.stdout
        if place:
            assert place in done.stdout
            assert "probes  not checked (the check stopped before it)" in done.stdout.replace("reward probes", "probes")
        assert "error" in done.stdout.splitlines()[-1]  # the summary line came out


# -- links that leave the repository ---------------------------------------------------------------------


def test_a_content_file_linked_from_outside_the_repository_is_an_error(tmp_path: Path) -> None:
    from osmosis_local.checks import CheckConfig, check_repository

    repo = build_fixture("base", tmp_path)
    outside = tmp_path / "elsewhere.py"
    outside.write_text((repo / "mcp" / "tools" / "arithmetic.py").read_text())
    (repo / "mcp" / "tools" / "arithmetic.py").unlink()
    (repo / "mcp" / "tools" / "arithmetic.py").symlink_to(outside)
    (repo / "reward_fn" / "inside.py").symlink_to(repo / "reward_fn" / "exact.py")  # within: fine
    report = check_repository(CheckConfig(path=repo, serve=False))
    links = [f for f in report.findings if f.code == "link-outside-repository"]
    assert [(f.severity, f.file) for f in links] == [("error", "mcp/tools/arithmetic.py")]
    assert str(outside) in links[0].message


@pytest.mark.parametrize("link", ["a dangling link", "a folder link"])
def test_new_never_writes_through_a_link_to_outside_the_repository(tmp_path: Path, link: str) -> None:
    repo = build_fixture("base", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    if link == "a dangling link":
        (repo / "reward_fn" / "planted.py").symlink_to(outside / "planted.py")
    else:
        shutil.rmtree(repo / "reward_fn")
        (repo / "reward_fn").symlink_to(outside, target_is_directory=True)
    done = subprocess.run([CLI, "new", "reward", "planted", "--path", str(repo)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert not (outside / "planted.py").exists()


def test_a_slow_check_says_what_it_is_doing(tmp_path: Path) -> None:
    repo = build_fixture("base", tmp_path)
    (repo / "mcp" / "tools" / "slow.py").write_text("import time\n\ntime.sleep(3)\n")
    init = repo / "mcp" / "tools" / "__init__.py"
    init.write_text(init.read_text() + "\nfrom . import slow  # noqa: F401\n")
    done = subprocess.run([CLI, "check", str(repo), "--no-serve", "--format", "json"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "check: importing mcp/main.py and its tools..." in done.stderr
    json.loads(done.stdout)  # the JSON stays clean
