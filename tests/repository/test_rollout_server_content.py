"""``rollout_server/server.py``, this repository's RolloutServer, started the three documented ways and driven by a
scripted trainer (a TEST DOUBLE) whose LLM turns come from the scripted policy (another TEST DOUBLE).

It serves the tools of ``mcp/`` (in process, or at the init's ``tool_server_url``), passes the request's
completion parameters on every turn, computes ``numbers_match_reward`` when the metadata has a ground truth, and
logs the example's four debug events.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import REPO, dataset_rows, jsonl
from mcp_servers import free_port, serve_process, serve_tool_server

from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_trainer import ScriptedTrainer

ROLLOUT_DIR = REPO / "rollout_server"
CLI = str(Path(sys.executable).parent / "osmosis-local")
ROW = dataset_rows()[3]


def init_body(trainer_url: str, rollout_id: str = "rollout-3", **extra: Any) -> dict[str, Any]:
    metadata = {"ground_truth": ROW["ground_truth"], "row_index": 3, "steps": ROW["steps"], "execution_mode": "eval"}
    return {
        "rollout_id": rollout_id, "server_url": trainer_url, "api_key": "callback-key-123456",
        "messages": [{"role": "system", "content": ROW["system_prompt"]},
                     {"role": "user", "content": ROW["user_prompt"]}],
        "completion_params": {"temperature": 0.7, "max_tokens": 300}, "max_turns": 10, "metadata": metadata, **extra,
    }  # fmt: skip


def run_one(base_url: str, trainer: ScriptedTrainer, **extra: Any) -> dict[str, Any]:
    body = init_body(trainer.url, **extra)
    response = httpx.post(f"{base_url}/v1/rollout/init", json=body, timeout=30)
    assert response.status_code == 202, response.text
    assert [t["function"]["name"] for t in response.json()["tools"]][:2] == ["add", "subtract"]
    return trainer.wait_for(body["rollout_id"], timeout_s=60)


@pytest.mark.parametrize("how", ["python -m server", "uvicorn server:app", "osmosis-local serve"])
def test_started_each_documented_way_it_serves_a_rollout_with_its_reward(how: str, tmp_path: Path) -> None:
    port = free_port()
    env = {"ROLLOUT_SERVER_HOST": "127.0.0.1", "ROLLOUT_SERVER_PORT": str(port), "ROLLOUT_DEBUG_DIR": str(tmp_path)}
    argv = {
        "python -m server": [sys.executable, "-m", "server"],
        "uvicorn server:app": [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1",
                               "--port", str(port)],
        "osmosis-local serve": [CLI, "serve", "-m", "server:agent_loop", "--local", "-p", str(port),
                                "--log", str(tmp_path)],
    }[how]  # fmt: skip
    with ScriptedTrainer(ScriptedPolicy(dataset_rows())) as trainer, \
            serve_process(argv, cwd=ROLLOUT_DIR, port=port, env=env) as server:  # fmt: skip
        health = httpx.get(f"{server.base_url}/health").json()
        done = run_one(server.base_url, trainer)
    assert health["agent_loop"] == "osmosis_math_tools"
    assert done["status"] == "COMPLETED" and done["reward"] == 1.0 and done["finish_reason"] == "stop"
    assert done["final_messages"][-1]["content"].strip().endswith(ROW["ground_truth"])
    assert all(r["temperature"] == 0.7 and r["max_tokens"] == 300 for r in trainer.chat_requests)
    (log,) = list(tmp_path.rglob("rollout-3.jsonl"))
    assert log.parent.parent == tmp_path and log.parent.name.isdigit()  # <dir>/<unix time>/<rollout_id>.jsonl
    events = [e["event"] for e in jsonl(log)]
    assert {"pre_llm", "llm_response", "tool_results", "rollout_complete"} <= set(events)


def test_tools_at_the_trainers_tool_server_url_and_no_reward_without_a_ground_truth() -> None:
    port = free_port()
    argv = [CLI, "serve", "-m", "server:agent_loop", "--local", "-p", str(port)]
    with ScriptedTrainer(ScriptedPolicy(dataset_rows())) as trainer, serve_tool_server() as tools, \
            serve_process(argv, cwd=ROLLOUT_DIR, port=port) as server:  # fmt: skip
        done = run_one(server.base_url, trainer, tool_server_url=tools.mcp_url)
        body = init_body(trainer.url, "no-truth")
        body["metadata"] = {"row_index": 3, "steps": ROW["steps"]}
        assert httpx.post(f"{server.base_url}/v1/rollout/init", json=body).status_code == 202
        no_truth = trainer.wait_for("no-truth")
    assert done["status"] == "COMPLETED" and done["reward"] == 1.0
    assert no_truth["status"] == "COMPLETED" and "reward" not in no_truth  # absent: exclude_none


def test_serve_without_local_generates_a_key_it_never_prints(tmp_path: Path) -> None:
    port = free_port()
    argv = [CLI, "serve", "-m", "server:agent_loop", "-H", "127.0.0.1", "-p", str(port)]
    with serve_process(argv, cwd=tmp_path, port=port, env={"PYTHONPATH": str(ROLLOUT_DIR)}) as server:
        key_file = tmp_path / ".osmosis-local" / "rollout-server-key"
        key = key_file.read_text().strip()
        refused = httpx.post(f"{server.base_url}/v1/rollout/init", json=init_body("http://127.0.0.1:9"))
        allowed = httpx.get(f"{server.base_url}/platform/health", headers={"Authorization": f"Bearer {key}"})
    assert len(key) >= 32 and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert refused.status_code == 401 and allowed.status_code == 200
    assert key not in server.output and "rollout-server-key" in server.output and "register" in server.output


def test_validate_passes_and_a_broken_loop_fails_with_the_sdks_code(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([CLI, "validate", "-m", "server:agent_loop", "-v"], cwd=ROLLOUT_DIR, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "is valid (8 tools)" in done.stdout, done.stderr
    assert "round_number: decimals: default, maximum, minimum cannot be carried" in done.stdout
    (tmp_path / "sync_loop.py").write_text(
        "class Loop:\n    name = 'sync'\n    def get_tools(self, request):\n        return []\n"
        "    def run(self, ctx):\n        return None\n"
    )
    bad = subprocess.run([CLI, "validate", "-m", "sync_loop:Loop"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert bad.returncode == 1 and "RUN_NOT_ASYNC" in bad.stderr
    refused = subprocess.run([CLI, "serve", "-m", "sync_loop:Loop", "--local"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 1 and "Not serving" in refused.stderr


def test_the_server_reaches_the_harness_only_through_the_sdk_fallback() -> None:
    tree = ast.parse((ROLLOUT_DIR / "server.py").read_text())
    fallbacks = {
        id(node)
        for handler in ast.walk(tree) if isinstance(handler, ast.ExceptHandler)
        and isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
        for node in ast.walk(handler)
    }  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(n.split(".")[0] == "osmosis_local" for n in names):
                assert id(node) in fallbacks, f"line {node.lineno} imports osmosis_local outside the fallback"
    assert not (ROLLOUT_DIR / "__init__.py").exists() and not (REPO / "mcp" / "__init__.py").exists()
    assert json.dumps  # the module under test is read, not imported
