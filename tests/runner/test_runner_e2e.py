"""The runner end to end: real tool server, real HTTP model endpoint (the scripted-policy TEST DOUBLE),
real files. The first tests run `osmosis-local` as a subprocess, exactly as a user would; the fault tests
call the same `main()` in-process to keep the suite fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import DATASET, MCP_DIR, NUMBERS, REPO, TOOL_USE, eval_argv, jsonl

from osmosis_local.cli import main
from osmosis_local.log.stats import pass_at_k
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

CLI = str(Path(sys.executable).parent / "osmosis-local")
SECRET = "sk-e2e-very-secret-key-0123456789"


def policy_server(**faults: Any) -> ScriptedOpenAIServer:
    return ScriptedOpenAIServer(ScriptedPolicy(load_rows(DATASET), **faults))


def eval_args(
    server: ScriptedOpenAIServer, tmp_path: Path, *extra: str, limit: int = 4, llm_client: str = "auto"
) -> list[str]:
    """The common eval (`helpers.eval_argv`) with a key to redact, 2 retries and the model-call path."""
    return eval_argv(
        server.base_url, tmp_path, "--api-key", SECRET, "--max-retries", "2", "--llm-client", llm_client, *extra,
        limit=limit, model="scripted-policy",
    )  # fmt: skip


def read_output(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out.json").read_text())


def read_lines(tmp_path: Path) -> list[dict[str, Any]]:
    return jsonl(tmp_path / "runs.jsonl")


def read_log(tmp_path: Path) -> list[dict[str, Any]]:
    """The run records of the transcript log (after its settings header)."""
    return [line for line in read_lines(tmp_path) if line["kind"] == "run"]


def test_eval_subprocess_scores_the_scripted_policy_perfectly(tmp_path: Path) -> None:
    with policy_server() as server:
        args = eval_args(server, tmp_path, "--eval-fn", TOOL_USE, "--n", "3", "--batch-size", "4", limit=6)
        args.remove("-q")
        done = subprocess.run([CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    out = read_output(tmp_path)
    assert set(out) >= {"config", "summary", "rows", "transcript_log"}
    summary = out["summary"]
    assert summary["total_rows"] == 6 and summary["total_runs"] == 18 and summary["failed_runs"] == 0
    assert summary["stopped_early"] is False
    for name in (NUMBERS, TOOL_USE):
        stats = summary["eval_fns"][name]
        assert stats["mean"] == 1.0 and stats["min"] == 1.0 and stats["std"] == 0.0
        assert stats["pass_at_1"] == 1.0 and stats["pass_at_3"] == 1.0
        assert stats["scored"] == 18 and stats["errors"] == 0
    runs = [run for row in out["rows"] for run in row["runs"]]
    assert summary["total_tokens"] == sum(run["tokens"] for run in runs) > 0
    log = read_log(tmp_path)
    assert len(log) == 18
    header = read_lines(tmp_path)[0]
    assert header["kind"] == "header" and header["settings"]["eval_fns"] == [NUMBERS, TOOL_USE]
    first = log[0]
    assert first["messages"][0]["role"] == "system" and first["messages"][-1]["role"] == "assistant"
    assert first["tool_calls"] and first["tool_calls"][0]["is_error"] is False
    assert first["token_usage"]["num_llm_calls"] == len(first["tool_calls"]) + 1
    assert "Eval Results" in done.stdout and "numbers_match_reward" in done.stdout
    for text in (done.stdout, done.stderr, (tmp_path / "out.json").read_text(), (tmp_path / "runs.jsonl").read_text()):
        assert SECRET not in text
    assert server.auth_headers[-1] == f"Bearer {SECRET}"


def test_test_subprocess_passes_rows_and_writes_contract_json(tmp_path: Path) -> None:
    with policy_server() as server:
        args = [
            "test",
            "--mcp",
            str(MCP_DIR),
            "-d",
            str(DATASET),
            "--model",
            "scripted-policy",
            "--base-url",
            server.base_url,
            "--limit",
            "3",
            "--offset",
            "10",
            "-o",
            str(tmp_path / "out.json"),
            "--log",
            str(tmp_path / "runs.jsonl"),
        ]
        done = subprocess.run([CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    out = read_output(tmp_path)
    assert out["summary"]["total"] == 3 and out["summary"]["passed"] == 3
    assert [r["row_index"] for r in out["results"]] == [10, 11, 12]
    result = out["results"][0]
    assert set(result) == {"row_index", "success", "error", "duration_ms", "token_usage", "reward", "finish_reason",
                           "end_state"}  # the contract's keys, and the end state
    assert result["finish_reason"] == "stop" and result["reward"] is None
    assert set(result["token_usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens", "num_llm_calls"}
    assert "Row 10: OK" in done.stderr


def test_help_does_not_import_litellm_or_fastmcp() -> None:
    code = (
        "import sys; from osmosis_local.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('litellm', 'fastmcp') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_rate_limited_then_ok_is_retried_and_every_run_succeeds(tmp_path: Path, llm_client: str) -> None:
    with policy_server(fail_first_n=3, fail_status=429, retry_after="0") as server:
        assert main(eval_args(server, tmp_path, limit=2, llm_client=llm_client)) == 0
    out = read_output(tmp_path)
    assert out["summary"]["failed_runs"] == 0
    assert out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0


def test_persistent_500_fails_runs_without_stopping_and_keeps_going(tmp_path: Path, llm_client: str) -> None:
    def responder(body: dict[str, Any]) -> ScriptedReply | dict[str, Any]:
        if body.get("max_tokens") == 1:  # let the preflight through
            return chat_completion(content="hi")
        return ScriptedReply(status=500)

    with ScriptedOpenAIServer(responder) as server:
        code = main(eval_args(server, tmp_path, "--max-retries", "1", limit=2, llm_client=llm_client))
    assert code == 0
    out = read_output(tmp_path)
    summary = out["summary"]
    assert summary["failed_runs"] == 2 and summary["stopped_early"] is False
    assert summary["eval_fns"][NUMBERS]["unscored"] == 2 and summary["eval_fns"][NUMBERS]["mean"] is None
    assert "HTTP 500" in out["rows"][0]["runs"][0]["error"]
    assert len(server.requests) == 1 + 2 * 2  # preflight + two attempts per run


def test_hang_past_the_request_timeout_is_retried(tmp_path: Path, llm_client: str) -> None:
    with policy_server(hang_s=3.0, hang_first_n=2) as server:  # preflight and first call hang
        assert (
            main(
                eval_args(
                    server, tmp_path, "--request-timeout", "1", "--max-retries", "3", limit=1, llm_client=llm_client
                )
            )
            == 0
        )
    assert read_output(tmp_path)["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0


@pytest.mark.parametrize("fault", ["malformed_tool_args", "unknown_tool"])
def test_bad_tool_calls_reach_the_model_as_errors_and_the_run_recovers(tmp_path: Path, fault: str) -> None:
    with policy_server(**{fault: True}) as server:
        assert main(eval_args(server, tmp_path, limit=2)) == 0
    assert read_output(tmp_path)["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    first = read_log(tmp_path)[0]
    error_messages = [
        m["content"] for m in first["messages"] if m["role"] == "tool" and m["content"].startswith("Error:")
    ]
    assert len(error_messages) == 1
    expected = "no_such_tool" if fault == "unknown_tool" else "JSON"
    assert expected in error_messages[0]


def test_pass_at_k_matches_per_row_counts_and_fail_under_gates(tmp_path: Path) -> None:
    with policy_server(wrong_answer_rate=0.5, seed=7) as server:
        code = main(eval_args(server, tmp_path, "--n", "4", "--fail-under", "0.99", limit=5))
    out = read_output(tmp_path)
    stats = out["summary"]["eval_fns"][NUMBERS]
    per_row_c = [sum(run["scores"][NUMBERS] >= 1.0 for run in row["runs"]) for row in out["rows"]]
    assert 0 < sum(per_row_c) < 20  # the seeded wrong answers really happened
    for k in (1, 3):
        expected = sum(pass_at_k(4, c, k) for c in per_row_c) / len(per_row_c)
        assert stats[f"pass_at_{k}"] == pytest.approx(expected)
    assert "pass_at_5" not in stats
    assert code == 3  # --fail-under not met


def test_seed_s_gives_run_k_the_seed_s_plus_k_so_runs_differ_and_replay(tmp_path: Path, llm_client: str) -> None:
    with policy_server() as server:
        code = main(eval_args(server, tmp_path, "--n", "3", "--seed", "100", limit=2, llm_client=llm_client))
        sent = [body.get("seed") for body in server.requests[1:]]  # after the preflight
    assert code == 0
    assert set(sent) == {100, 101, 102}
    by_run = {(r["row_index"], r["run_index"]): r["seed"] for r in read_log(tmp_path)}
    assert by_run == {(row, k): 100 + k for row in (0, 1) for k in range(3)}


def test_without_seed_none_is_sent(tmp_path: Path) -> None:
    with policy_server() as server:
        assert main(eval_args(server, tmp_path, "--n", "2", limit=1)) == 0
        assert all("seed" not in body for body in server.requests)
    assert {r["seed"] for r in read_log(tmp_path)} == {None}


def test_an_eval_fn_that_raises_is_an_error_not_a_silent_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flaky_scorer.py").write_text(
        "def score(solution_str, ground_truth, extra_info=None, **kwargs):\n"
        "    if extra_info['id'] == 'row-0001':\n"
        "        raise RuntimeError('scorer bug on purpose')\n"
        "    return 1.0\n"
    )
    monkeypatch.chdir(tmp_path)
    with policy_server() as server:
        assert main(eval_args(server, tmp_path, "--eval-fn", "flaky_scorer:score", limit=3)) == 0
    out = read_output(tmp_path)
    stats = out["summary"]["eval_fns"]["flaky_scorer:score"]
    assert stats["errors"] == 1 and stats["scored"] == 2 and stats["mean"] == 1.0
    run = out["rows"][0]["runs"][0]
    assert run["success"] is True and "flaky_scorer:score" not in run["scores"]
    assert "scorer bug on purpose" in run["score_errors"]["flaky_scorer:score"]


def test_resume_skips_finished_runs_and_appends(tmp_path: Path) -> None:
    with policy_server() as server:
        assert main(eval_args(server, tmp_path, limit=2)) == 0
        first_requests = len(server.requests)
        args = eval_args(server, tmp_path, limit=4)
        args[args.index("--log")] = "--resume"
        assert main(args) == 0
    assert len(read_log(tmp_path)) == 4
    out = read_output(tmp_path)
    assert out["summary"]["total_runs"] == 4 and out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    # Only rows 2 and 3 were sent again: one request per LLM call of those two runs, plus the preflight.
    new_calls = sum(r["token_usage"]["num_llm_calls"] for r in read_log(tmp_path)[2:])
    assert len(server.requests) - first_requests == new_calls + 1
    assert {r["row_index"] for r in read_log(tmp_path)[2:]} == {2, 3}


def test_baseline_gives_a_paired_win_loss_tie_report(tmp_path: Path) -> None:
    with policy_server() as good, policy_server(wrong_answer_rate=1.0) as bad:
        args = eval_args(good, tmp_path, "--baseline-model", "bad-policy", "--baseline-base-url", bad.base_url, limit=3)
        assert main(args) == 0
    out = read_output(tmp_path)
    assert out["comparison"][NUMBERS] == {**out["comparison"][NUMBERS], "wins": 3, "losses": 0, "ties": 0}
    tags = {s["model_tag"]: s for s in out["model_summaries"]}
    assert tags["primary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    assert tags["baseline"]["eval_fns"][NUMBERS]["mean"] == 0.0
    assert out["summary"]["total_runs"] == 3  # the top-level summary is the primary model's


def test_auth_failure_stops_at_preflight_with_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], llm_client: str
) -> None:
    with ScriptedOpenAIServer(lambda _b: ScriptedReply(status=401)) as server:
        assert main(eval_args(server, tmp_path, limit=2, llm_client=llm_client)) == 1
        assert len(server.requests) == 1
    err = capsys.readouterr().err
    assert "Authentication failed" in err and SECRET not in err
    assert not (tmp_path / "out.json").exists()


def test_a_systemic_error_on_the_last_run_still_exits_1(tmp_path: Path, llm_client: str) -> None:
    # The key is revoked after the preflight: the only run fails with 401, nothing is left to stop.
    def revoked_after_preflight(body: dict[str, Any]) -> ScriptedReply:
        first = not revoked
        revoked.append(True)
        return ScriptedReply(body=chat_completion(content="#### 1")) if first else ScriptedReply(status=401)

    revoked: list[bool] = []
    with ScriptedOpenAIServer(revoked_after_preflight) as server:
        code = main(eval_args(server, tmp_path, limit=1, llm_client=llm_client))
    summary = read_output(tmp_path)["summary"]
    assert summary["stopped_early"] is False and "Authentication failed" in summary["stop_reason"]
    assert code == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m"],  # no --mcp
        ["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m", "--max-turns", "0"],
        ["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--eval-fn", NUMBERS, "--model", "m"],
        ["test", "--mcp", "mcp", "-d", "x.jsonl", "--row", "3"],  # --row needs -i
        [
            "eval",
            "--mcp",
            "mcp",
            "-d",
            "x.jsonl",
            "--eval-fn",
            NUMBERS,
            "--model",
            "m",
            "--baseline-base-url",
            "http://x",
        ],
        ["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m", "--pass-threshold", "nan"],
        ["eval", "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", NUMBERS, "--model", "m", "--fail-under", "inf"],
        ["test", "--mcp", "mcp", "-d", "x.jsonl", "--seed", "-1"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_setup_errors_exit_1_with_a_named_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"system_prompt": "s", "user_prompt": "u", "ground_truth": "1"}\n'
        '{"system_prompt": "s", "user_prompt": "", "ground_truth": "2"}\n'
    )
    code = main(
        [
            "eval",
            "--mcp",
            str(MCP_DIR),
            "-d",
            str(bad),
            "--eval-fn",
            NUMBERS,
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "-q",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "Row 1" in err or "row 1" in err


LOCAL_JUDGE = "reward_rubric.reward_rubric_local:compute_rubric_score_local"


def test_local_rubric_judge_scores_a_dataset_without_any_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm_client: str
) -> None:
    def judge(body: dict[str, Any]) -> dict[str, Any]:
        candidate = body["messages"][-1]["content"]
        verdict = 1.0 if "####" in candidate else 0.0
        return chat_completion(content=json.dumps({"score": verdict, "explanation": "final answer present"}))

    for name in ("OPENAI_API_KEY", "LITELLM_API_KEY", "OSMOSIS_JUDGE_API_KEY", "OSMOSIS_RUBRIC_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    with policy_server() as policy, ScriptedOpenAIServer(judge) as judge_server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", judge_server.base_url)
        args = eval_args(policy, tmp_path, "--eval-fn", LOCAL_JUDGE, limit=3, llm_client=llm_client)
        args[args.index("--api-key") : args.index("--api-key") + 2] = []
        assert main(args) == 0
        assert len(judge_server.requests) == 3
        assert all("sk-" not in (header or "") for header in judge_server.auth_headers)  # no provider key leaks
    out = read_output(tmp_path)
    stats = out["summary"]["eval_fns"][LOCAL_JUDGE]
    assert stats["mean"] == 1.0 and stats["scored"] == 3
    assert out["summary"]["judge_usage"]["calls"] >= 3


def test_a_failing_judge_is_counted_as_errors_not_zeros(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm_client: str
) -> None:
    monkeypatch.setenv("OSMOSIS_RUBRIC_RETRY_ATTEMPTS", "1")
    monkeypatch.delenv("OSMOSIS_RUBRIC_CACHE_DIR", raising=False)
    with (
        policy_server() as policy,
        ScriptedOpenAIServer(lambda _b: chat_completion(content="no json here")) as judge_server,
    ):
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", judge_server.base_url)
        # A scorer that raised on every run makes the eval fail (exit 1), with the reason.
        assert main(eval_args(policy, tmp_path, "--eval-fn", LOCAL_JUDGE, limit=2, llm_client=llm_client)) == 1
    out = read_output(tmp_path)
    stats = out["summary"]["eval_fns"][LOCAL_JUDGE]
    assert stats["errors"] == 2 and stats["scored"] == 0 and stats["mean"] is None
    assert out["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    assert out["exit_code"] == 1
    assert [p for p in out["summary"]["problems"] if LOCAL_JUDGE in p and "raised on every run" in p]
