"""`osmosis-local view`: the self-contained HTML report, opened in a real headless browser (Debian's chromium).

The log comes from an eval against the scripted-policy TEST DOUBLE whose final answers carry an injected
``<script>`` and an ``<img onerror>``: they must show as text and never run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import DATASET, run_eval

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, chat_completion

INJECTION = "<script>document.title='PWNED'</script><img src=x onerror=\"document.body.dataset.pwned='1'\">"
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"))), None
)


class InjectingPolicy:
    """The scripted policy, whose final answers start with hostile HTML."""

    def __init__(self) -> None:
        self.policy = ScriptedPolicy(load_rows(DATASET), wrong_answer_rate=0.4, seed=5)

    def __call__(self, body: dict[str, Any]) -> Any:
        reply = self.policy(body)
        message = reply.body["choices"][0]["message"]
        if message.get("content"):
            reply.body = chat_completion(content=INJECTION + "\n" + message["content"])
        return reply


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("view")
    with ScriptedOpenAIServer(InjectingPolicy()) as server:
        assert run_eval(server.base_url, tmp, "--n", "2", "--batch-size", "4", limit=6).code == 0
    assert main(["view", str(tmp / "runs.jsonl"), "-o", str(tmp / "report.html")]) == 0
    return tmp / "report.html"


def test_the_report_is_one_file_with_no_network_and_escapes_the_transcript(report: Path) -> None:
    page = report.read_text()
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing loaded from anywhere
    assert "default-src 'none'" in page
    assert "<script>document.title" not in page and "<img src=x" not in page  # only escaped copies
    assert page.count('<script type="application/json"') == 2  # the table's data, and the runs' details
    assert page.count("<script>") == 1  # and the page's own script, the only one that runs


def test_a_results_file_renders_too(report: Path) -> None:
    out = report.parent / "from-results.html"
    assert main(["view", str(report.parent / "out.json"), "-o", str(out)]) == 0
    assert "Row × run grid" in out.read_text()


def test_view_refuses_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", str(tmp_path / "none.jsonl")]) == 1
    (tmp_path / "junk.json").write_text("{}")
    assert main(["view", str(tmp_path / "junk.json")]) == 1
    assert "not an eval results file" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_in_a_real_browser_the_summary_grid_and_a_drill_down_render_and_the_injection_does_not_run(
    report: Path,
) -> None:
    runs = [json.loads(line) for line in (report.parent / "runs.jsonl").read_text().splitlines()][1:]
    key = runs[3]["key"]
    url = report.resolve().as_uri() + "#run=" + key
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    dom = done.stdout
    assert 'data-ready="1"' in dom, done.stderr[-2000:]  # the page's script ran to the end
    assert "Summary" in dom and "Mean (all runs)" in dom
    assert dom.count('class="cell"') == 12  # the row × run grid: 6 rows x 2 runs
    assert dom.count('class="run"') == 12  # the run table
    row, run = runs[3]["row_index"], runs[3]["run_index"]
    assert f"Row {row}, run {run} (primary: scripted)" in dom  # the drill-down opened from the URL
    assert "Conversation (" in dom and "Tool calls (" in dom and "Ground truth" in dom
    assert "PWNED" not in dom.split("<title>")[1].split("</title>")[0]
    assert "data-pwned" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom  # shown as text


def _visible_text(dom: str) -> str:
    """What a person reads on the page: the DOM without its scripts and tags, entities decoded."""
    import html

    without_scripts = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", without_scripts))


def _dump(page: Path, fragment: str = "") -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom",
         page.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert 'data-ready="1"' in done.stdout, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_the_text_a_person_reads_has_no_escapes_and_no_python_none(report: Path) -> None:
    runs = [json.loads(line) for line in (report.parent / "runs.jsonl").read_text().splitlines()][1:]
    with_tools = next(r for r in runs if r["tool_calls"])
    text = _visible_text(_dump(report, "#run=" + with_tools["key"]))
    assert "\\n" not in text  # a tool call's "arguments ... result ..." is two lines, not one with a literal \n
    assert "result: " in text and "→ " in text  # the tool call block and an assistant message's calls
    assert not re.search(r"\bNone\b", text), re.findall(r".{40}\bNone\b.{40}", text)


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_runs_that_ran_out_of_turns_say_so_in_the_report(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET))) as server:
        assert run_eval(server.base_url, tmp_path, "--max-turns", "1", limit=2).code == 0
    assert main(["view", str(tmp_path / "runs.jsonl"), "-o", str(tmp_path / "report.html")]) == 0
    key = json.loads((tmp_path / "runs.jsonl").read_text().splitlines()[1])["key"]
    text = _visible_text(_dump(tmp_path / "report.html", "#run=" + key))
    assert "End states answered 0, out of turns 2, cut off 0, error 0" in " ".join(text.split())
    assert "OUT OF TURNS: ran out of turns while still calling tools after 1 LLM calls" in text
    assert "(none: ran out of turns" in text  # the empty final answer box says why it is empty


STRICT = ("def score(solution_str, ground_truth, extra_info=None):\n"
          "    return float(solution_str.strip().endswith(ground_truth))\n")
LENIENT = "def score(solution_str, ground_truth, extra_info=None):\n    return 1.0  # pays every answer\n"
FN = "viewed_reward:score"


@pytest.fixture(scope="module")
def rescored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An eval (8 rows x 2 runs, some answers wrong) scored by a strict reward, then a rescore after the reward
    was edited to pay every answer."""
    import sys

    tmp = tmp_path_factory.mktemp("rescored")
    (tmp / "viewed_reward.py").write_text(STRICT)
    sys.path.insert(0, str(tmp))
    try:
        with ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET), wrong_answer_rate=0.5, seed=4)) as server:
            assert run_eval(server.base_url, tmp, "--n", "2", limit=8, eval_fns=(FN,)).code == 0
        (tmp / "viewed_reward.py").write_text(LENIENT)
        sys.modules.pop("viewed_reward", None)
        assert main(["rescore", str(tmp / "runs.jsonl"), "--eval-fn", FN, "--log", str(tmp / "re.jsonl"), "-q"]) == 0
    finally:
        sys.path.remove(str(tmp))
        sys.modules.pop("viewed_reward", None)
    return tmp


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_the_report_breaks_scores_down_by_a_dataset_column_with_counted_axes(rescored: Path) -> None:
    assert main(["view", str(rescored / "runs.jsonl"), "-o", str(rescored / "report.html")]) == 0
    text = " ".join(_visible_text(_dump(rescored / "report.html")).split())
    runs = [json.loads(line) for line in (rescored / "runs.jsonl").read_text().splitlines()[1:]]
    steps = sorted({r["columns"]["num_steps"] for r in runs})
    assert len(steps) >= 2  # the runs record the row's short columns
    assert "By dataset column num_steps runs score mean" in text
    first = steps[0]
    count = sum(1 for r in runs if r["columns"]["num_steps"] == first)
    scored = [r["scores"][FN] for r in runs if r["columns"]["num_steps"] == first]
    assert f"{first} {count} {sum(scored) / len(scored):.3f}" in text  # value, runs, mean: in the table
    assert f"(n={count})" in text  # and on its bar
    assert "column id " not in text  # a column with a value per row groups nothing
    for caption in ("How many primary runs got each score score", "How long each run took",
                    "Policy tokens per run", "grouped by the dataset column num_steps"):  # fmt: skip
        assert caption in text  # one caption per chart
    assert "score runs" in text or "runs score" in text  # both axes labelled


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_the_runs_table_sorts_by_any_column(rescored: Path) -> None:
    page = rescored / "report.html"
    assert main(["view", str(rescored / "runs.jsonl"), "-o", str(page)]) == 0
    dom = _dump(page, "#sort=-tokens")
    body = dom.split('<table id="runs">')[1].split("</tbody>")[0]
    tokens = [int(cells[-1]) for cells in re.findall(r"<tr class=\"run\"[^>]*>(.*?)</tr>", body)
              for cells in [re.findall(r"<td[^>]*>([^<]*)</td>", cells)]]  # fmt: skip
    assert tokens == sorted(tokens, reverse=True) and len(set(tokens)) > 1
    assert 'class="sorted-desc"' in body.split("<tbody>")[0] or 'class="sorted-desc"' in dom


@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get update && apt-get install -y chromium")
def test_a_rescore_report_shows_before_and_after_per_function_and_per_run(rescored: Path) -> None:
    before = [json.loads(line) for line in (rescored / "runs.jsonl").read_text().splitlines()[1:]]
    wrong = [r for r in before if r["scores"][FN] == 0.0]
    assert wrong, "the fixture needs runs the lenient reward changes"
    assert main(["view", str(rescored / "re.jsonl"), "-o", str(rescored / "re.html")]) == 0
    text = " ".join(_visible_text(_dump(rescored / "re.html")).split())
    mean_before = sum(r["scores"][FN] for r in before) / len(before)
    assert "before → after" in text
    assert f"{FN} {mean_before:.3f} 1.000 {1 - mean_before:+.3f} {len(wrong)}" in text
    assert text.count("score 0.000 → 1.000") == len(wrong)  # each changed run, in the table
    key = wrong[0]["key"]
    detail = _visible_text(_dump(rescored / "re.html", "#run=" + key))
    assert "before the rescore: 0\nnow: 1" in detail
