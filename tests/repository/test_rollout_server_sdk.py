"""``rollout_server/server.py`` under the original SDK's import path: a stand-in ``osmosis_ai`` (the names the
content imports, the SDK's loader and its FastMCP-2 ``MCPAgentLoop``; ``scripts/sdk_rollout_emulation/``) in the
FastMCP 2.14.5 venv, where ``osmosis_local`` is not installed.

It checks what the platform depends on: the content imports without the harness, the ``server`` name trap is
solved under the SDK's loader (which evicts ``mcp/``'s modules after the import), the tools come out in the SDK's
shape, and a rollout replaying a row's steps through FastMCP's public client earns reward 1.0.
"""

from __future__ import annotations

import json
import os
import subprocess

from helpers import REPO, dataset_rows
from mcp_servers import TOOL_NAMES, fastmcp2_python

EMULATION = REPO / "scripts" / "sdk_rollout_emulation"


def test_the_server_runs_a_rollout_under_the_sdk_without_the_harness() -> None:
    python = fastmcp2_python()
    env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": str(EMULATION)}  # fmt: skip
    row = dataset_rows()[5]
    done = subprocess.run(
        [str(python), str(EMULATION / "run_rollout_server.py"), json.dumps(row, default=str)],
        cwd=REPO / "rollout_server", capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["name"] == "osmosis_math_tools" and report["tools"] == TOOL_NAMES
    assert report["harness_imported"] is False and report["server_is_this_file"] is True
    assert report["status"] == "COMPLETED" and report["reward"] == 1.0
    assert len(report["tool_results"]) == len(row["steps"]) and report["answer"].endswith(row["ground_truth"])
    assert report["app"] == ["agent_loop", "options"]
