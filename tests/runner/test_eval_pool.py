"""`eval --batch-size B` is a bounded pool, not waves: at most B rollouts in flight, and a new one
starts as soon as any finishes (issue: "a new one starts when any finishes - no waves").

The model is the scripted-policy TEST DOUBLE over real HTTP; a thin wrapper around it records when
each request starts and ends, so the test reads concurrency off the server's side of the socket.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import DATASET, REPO

from osmosis_local.cli import main
from osmosis_local.testing.scripted_policy import ScriptedPolicy, load_rows
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply

LATENCY_S = 0.15


@dataclass
class Request:
    question: str
    started: float
    ended: float = 0.0


class TimedPolicy:
    """Wraps the scripted policy: sleeps LATENCY_S inside the handler and records the timeline."""

    def __init__(self) -> None:
        self.policy = ScriptedPolicy(load_rows(DATASET))
        self.requests: list[Request] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> ScriptedReply:
        question = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        request = Request(question, time.perf_counter())
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(LATENCY_S)
            return self.policy(body)
        finally:
            with self._lock:
                self.in_flight -= 1
                request.ended = time.perf_counter()


def run_pool(tmp_path: Path, *, rows: int, batch_size: int) -> TimedPolicy:
    timed = TimedPolicy()
    with ScriptedOpenAIServer(timed) as server:
        code = main([
            "eval", "--mcp", str(REPO / "mcp"), "-d", str(DATASET),
            "--eval-fn", "reward_fn.compute_reward:numbers_match_reward",
            "--model", "scripted-policy", "--base-url", server.base_url, "--api-key", "sk-pool-test",
            "--limit", str(rows), "--batch-size", str(batch_size), "--max-retries", "0", "-q",
            "--log", str(tmp_path / "runs.jsonl"), "-o", str(tmp_path / "out.json"),
        ])
    assert code == 0
    return timed


def test_at_most_batch_size_rollouts_are_in_flight_and_the_pool_fills(tmp_path: Path) -> None:
    timed = run_pool(tmp_path, rows=8, batch_size=3)
    assert timed.peak == 3
    assert timed.in_flight == 0


def test_a_new_rollout_starts_when_any_finishes_not_after_the_wave(tmp_path: Path) -> None:
    # The first rows take 1, 2, 3 and 4 tool steps (2, 3, 4, 5 LLM calls): with a pool of 3, row 3
    # starts when row 0 (2 calls) ends, while row 2 (4 calls) is still running. Waves would hold it back.
    rows = load_rows(DATASET)[:4]
    assert [len(r["steps"]) for r in rows] == [1, 2, 3, 4]
    timed = run_pool(tmp_path, rows=4, batch_size=3)
    by_row = {r["user_prompt"]: [q for q in timed.requests if q.question == r["user_prompt"]] for r in rows}
    assert [len(by_row[r["user_prompt"]]) for r in rows] == [2, 3, 4, 5]
    row0, row2, row3 = (by_row[rows[i]["user_prompt"]] for i in (0, 2, 3))
    assert row3[0].started >= row0[-1].ended - 0.01  # it waited for a free slot...
    assert row3[0].started < row2[-1].started  # ...but not for the whole first wave
