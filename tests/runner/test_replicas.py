"""A served model with several replicas (`--base-url` given more than once): requests go to the least busy
one, a replica that dies mid-eval is taken out and its work moves to the others, and the eval stops only when
every replica is down. The replicas are scripted-policy TEST DOUBLES behind real HTTP endpoints; one is killed
(its listener closed, and every request on a kept-alive connection dropped) after a few requests.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import dataset_rows, eval_argv

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply


class DyingReplica:
    """The scripted policy, until its ``dies_after``-th request; then the server is stopped and every request
    that still reaches it (over a kept-alive connection) gets its connection dropped."""

    def __init__(self, dies_after: int) -> None:
        self.policy = ScriptedPolicy(dataset_rows())
        self.dies_after = dies_after
        self.seen = 0
        self.server: ScriptedOpenAIServer | None = None
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Any:
        with self.lock:
            self.seen += 1
            dead = self.seen > self.dies_after
            if self.seen == self.dies_after + 1 and self.server is not None:
                threading.Thread(target=self.server.stop, daemon=True).start()
        return ScriptedReply(drop_connection=True) if dead else self.policy(body)


def test_a_replica_that_dies_mid_eval_is_taken_out_and_every_run_still_finishes(tmp_path: Path) -> None:
    dying = DyingReplica(dies_after=6)
    with ScriptedOpenAIServer(ScriptedPolicy(dataset_rows())) as healthy, ScriptedOpenAIServer(dying) as doomed:
        dying.server = doomed
        argv = eval_argv(healthy.base_url, tmp_path, "--base-url", doomed.base_url, "--batch-size", "4",
                         "--max-retries", "1", limit=16)  # fmt: skip
        code = main(argv)
    result = json.loads((tmp_path / "out.json").read_text())
    assert code == 0, result["summary"]["problems"]
    summary = result["summary"]
    assert summary["total_runs"] == 16 and summary["end_states"]["answered"] == 16  # nothing lost
    assert summary["stopped_early"] is False
    use = {r["url"]: r for r in summary["replicas"]}
    assert set(use) == {healthy.base_url, doomed.base_url}
    assert use[doomed.base_url]["failures"] >= 1 and use[doomed.base_url]["taken_out"] >= 1
    assert use[healthy.base_url]["requests"] > use[doomed.base_url]["requests"] >= 6  # both served; then one
    assert use[healthy.base_url]["failures"] == 0


def test_requests_go_to_the_least_busy_replica(tmp_path: Path) -> None:
    policy = ScriptedPolicy(dataset_rows())
    with ScriptedOpenAIServer(policy) as a, ScriptedOpenAIServer(policy) as b:
        argv = eval_argv(a.base_url, tmp_path, "--base-url", b.base_url, "--batch-size", "8", limit=16)
        assert main(argv) == 0
        counts = len(a.requests), len(b.requests)
    assert min(counts) >= 0.3 * sum(counts), counts  # spread over both, not all on the first


def test_the_eval_stops_as_systemic_only_when_every_replica_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
    argv = eval_argv(urls[0], tmp_path, "--base-url", urls[1], "--max-retries", "1", limit=2)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "every replica of the model is down (2)" in err
