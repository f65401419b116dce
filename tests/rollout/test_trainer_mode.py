"""Trainer mode (``eval --rollout-server``): the runner plays the trainer over real HTTP against a RolloutServer.

The repository's own loop under ``osmosis-local serve`` (a subprocess) scores every row as ``eval --mcp`` does on
the scripted-policy TEST DOUBLE; servers that break the wire contract fail their runs with a message naming the
violation and the rollout; a server that is down stops the eval at set-up.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from helpers import DATASET, NUMBERS, REPO, Cli, jsonl
from mcp_servers import free_port, serve_process

from osmosis_local.rollout import RolloutAgentLoop, RolloutContext, RolloutRequest, RolloutResult, create_app
from osmosis_local.rollout.schemas import OpenAIFunctionSchema, OpenAIFunctionToolSchema
from osmosis_local.testing.app_server import AppServer
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

CLI = str(Path(sys.executable).parent / "osmosis-local")
pytestmark = pytest.mark.usefixtures("forget_content_imports")
ROLLOUT_DIR = REPO / "rollout_server"
TOOL = OpenAIFunctionToolSchema(type="function", function=OpenAIFunctionSchema(name="add", description="Add."))


def test_the_repository_loop_served_scores_every_row_as_eval_mcp_does(policy: ScriptedOpenAIServer, cli: Cli) -> None:
    port = free_port()
    argv = [CLI, "serve", "-m", "server:agent_loop", "--local", "-p", str(port), "--log", str(cli.out_dir / "debug")]
    with serve_process(argv, cwd=ROLLOUT_DIR, port=port) as server:
        remote_args = ("--rollout-server", server.base_url)
        remote = cli.eval(policy.base_url, *remote_args, "--batch-size", "4", limit=12, mcp=None, name="remote",
                          output="remote")  # fmt: skip
    local = cli.eval(policy.base_url, "--batch-size", "4", limit=12, name="local", output="local")
    assert remote.code == 0 and local.code == 0
    r, l_ = remote.out, local.out
    assert r["summary"]["eval_fns"][NUMBERS]["mean"] == l_["summary"]["eval_fns"][NUMBERS]["mean"] == 1.0
    assert r["summary"]["failed_runs"] == 0 and r["config"]["rollout_server"] == server.base_url
    runs = [run for row in r["rows"] for run in row["runs"]]
    assert all(run["reward"] == 1.0 for run in runs)  # the server's own reward, beside the scores
    record = remote.records[0]
    assert record["tool_calls"] and record["messages"][-1]["role"] == "assistant"
    assert record["token_usage"]["num_llm_calls"] == len(record["tool_calls"]) + 1
    debug = list((cli.out_dir / "debug").rglob("eval-0-run-0.jsonl"))
    events = [e["event"] for e in jsonl(debug[0])]
    assert {"pre_llm", "llm_response", "tool_results", "rollout_complete"} <= set(events)
    # the trainer-mode log is an eval log like any other: rescore and view read it
    assert cli("rescore", remote.log, "--eval-fn", NUMBERS, "-q", "--log", cli.out_dir / "re.jsonl") == 0
    assert cli("view", remote.log, "-o", cli.out_dir / "report.html") == 0


def test_a_server_that_is_down_stops_the_eval_at_set_up(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = cli.eval("http://127.0.0.1:9/v1", "--rollout-server", url, mcp=None, limit=1)
    assert run.code == 1 and "Cannot reach the RolloutServer" in capsys.readouterr().err


class RewritingLoop(RolloutAgentLoop):
    """Breaks the wire contract: its second turn rewrites the system message."""

    name = "rewriter"

    def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
        return [TOOL]

    async def run(self, ctx: RolloutContext) -> RolloutResult:
        messages = list(ctx.request.messages)
        reply = await ctx.chat(messages)
        messages = [{"role": "system", "content": "a new system prompt"}, *messages[1:], reply.message]
        messages.append({"role": "user", "content": "again"})
        await ctx.chat(messages)
        return ctx.complete(messages)


class SilentLoop(RolloutAgentLoop):
    """Never completes within the trainer's deadline."""

    name = "silent"

    def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
        return []

    async def run(self, ctx: RolloutContext) -> RolloutResult:
        await asyncio.sleep(3600)
        return ctx.complete([])


def broken_server(kind: str) -> FastAPI:
    """A 'RolloutServer' that breaks the wire: it answers the init wrongly (no loop ever runs)."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "healthy", "agent_loop": kind}

    @app.post("/v1/rollout/init")
    async def init(body: dict[str, Any]) -> Any:
        from fastapi.responses import JSONResponse

        if kind == "status-200":
            return JSONResponse({"rollout_id": body["rollout_id"], "tools": []}, status_code=200)
        return JSONResponse({"rollout_id": body["rollout_id"], "tools": [{"type": "function"}]}, status_code=202)

    return app


@pytest.mark.parametrize(
    ("app", "violation"),
    [
        (lambda: create_app(RewritingLoop()), "changed earlier messages"),
        (lambda: broken_server("status-200"), "the init was answered HTTP 200 (202 expected)"),
        (lambda: broken_server("bad-tools"), "the init's 202 is not {rollout_id, tools}"),
        (lambda: create_app(SilentLoop()), "no completed callback within 1 s"),
    ],
    ids=["rewrites-history", "init-200", "init-bad-tools", "never-completes"],
)
def test_a_server_that_breaks_the_wire_fails_the_run_naming_the_violation_and_the_rollout(
    policy: ScriptedOpenAIServer, cli: Cli, app: Any, violation: str
) -> None:
    with AppServer(app()) as server:
        run = cli.eval(policy.base_url, "--rollout-server", server.url, "--rollout-timeout", "1", mcp=None, limit=1)
    assert run.code == 0  # a per-run failure, the eval itself finished
    error = run.out["rows"][0]["runs"][0]["error"]
    assert error.startswith("wire contract") and violation in error and "eval-0-run-0" in error


def test_the_seed_test_m_commands_work_as_written(policy: ScriptedOpenAIServer, tmp_path: Path) -> None:
    import subprocess

    base = [CLI, "test", "-m", "server:agent_loop", "-d", str(DATASET), "--model", "scripted", "--base-url",
            policy.base_url]  # fmt: skip
    for extra in (["--limit", "3"], ["--limit", "2", "-o", str(tmp_path / "results.json")]):
        done = subprocess.run([*base, *extra], cwd=ROLLOUT_DIR, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
    import json

    out = json.loads((tmp_path / "results.json").read_text())
    assert out["summary"]["passed"] == 2 and out["config"]["module"] == "server:agent_loop"
    assert all(r["reward"] == 1.0 for r in out["results"])  # the loop's own reward, as the SDK's field


def test_eval_m_in_process_gives_the_same_mean_as_eval_mcp(
    policy: ScriptedOpenAIServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROLLOUT_DIR)
    in_process = cli.eval(policy.base_url, "-m", "server:agent_loop", "--batch-size", "3", mcp=None, limit=6)
    assert in_process.code == 0
    stats = in_process.out["summary"]["eval_fns"][NUMBERS]
    assert (stats["mean"], stats["scored"]) == (1.0, 6) and in_process.records[0]["reward"] == 1.0


def test_interactive_steps_through_an_agent_loop(
    policy: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROLLOUT_DIR)
    answers = iter(["", "m", "c", "", "q"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(answers))
    code = Cli(Path("."))("test", "-m", "server:agent_loop", "-d", DATASET, "--model", "scripted", "--base-url",
                          policy.base_url, "-i", "--row", "0")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Turn 1: LLM Response" in out and "Turn 2: LLM Response" in out
    assert "Tool result" in out and "Status: OK" in out and "finished: OK (answered)" in out
