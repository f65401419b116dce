"""The RolloutServer against a hostile trainer, over real HTTP both ways: the server (uvicorn on 127.0.0.1) and a
scripted trainer (a TEST DOUBLE answering the callbacks, `osmosis_local.testing.scripted_trainer`).

Bad bodies, huge metadata, path-like ids, racing duplicate inits, a callback server that is down or answers
4xx/5xx, a completion that never gets through, a loop that raises, hangs or never completes: the server stays
up, nothing is lost, and no key is printed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from osmosis_local.rollout import RolloutAgentLoop, RolloutContext, RolloutRequest, RolloutResult, create_app
from osmosis_local.rollout.callback import CallbackPolicy
from osmosis_local.rollout.schemas import OpenAIFunctionSchema, OpenAIFunctionToolSchema
from osmosis_local.testing.app_server import AppServer
from osmosis_local.testing.scripted_server import ScriptedReply, chat_completion
from osmosis_local.testing.scripted_trainer import ScriptedTrainer

FAST = CallbackPolicy(retries=3, base_s=0.01, max_s=0.05, timeout_s=2.0)
FAST_COMPLETION = CallbackPolicy(retries=2, base_s=0.01, max_s=0.05, timeout_s=2.0)
SERVER_KEY = "server-key-0123456789abcdef"
TRAINER_KEY = "trainer-callback-key-0123456789"
TOOL = OpenAIFunctionToolSchema(type="function", function=OpenAIFunctionSchema(name="add", description="Add."))


class ScriptedLoop(RolloutAgentLoop):
    """A loop whose behaviour each test picks: answer, raise after a turn, hang, or return nothing."""

    name = "scripted_loop"

    def __init__(self, behaviour: str = "answer") -> None:
        self.behaviour = behaviour
        self.runs: list[str] = []

    def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
        return [TOOL]

    async def run(self, ctx: RolloutContext) -> RolloutResult:
        self.runs.append(ctx.request.rollout_id)
        messages = list(ctx.request.messages)
        if self.behaviour == "hang":
            await asyncio.sleep(3600)
        result = await ctx.chat(messages, **ctx.request.completion_params)
        messages.append(result.message)
        ctx.log_event("llm_response", turn=0)
        if self.behaviour == "raise":
            raise KeyError("the tool table")
        if self.behaviour == "none":
            return None  # type: ignore[return-value]  # the fault under test
        return ctx.complete(messages, reward=1.0)


def init_body(trainer_url: str, rollout_id: str = "r-1", **extra: Any) -> dict[str, Any]:
    return {
        "rollout_id": rollout_id, "server_url": trainer_url, "api_key": TRAINER_KEY,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "completion_params": {"temperature": 0.5}, "max_turns": 3, **extra,
    }  # fmt: skip


def answer(_body: dict[str, Any]) -> dict[str, Any]:
    return chat_completion(content="#### 5")


def app_of(loop: RolloutAgentLoop, **options: Any) -> Any:
    options = {"callback_policy": FAST, "completion_policy": FAST_COMPLETION, "redeliver_interval_s": 0.2,
               **options}  # fmt: skip
    return create_app(loop, **options)


def wait_until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_rollout_runs_and_its_result_reaches_the_trainer_with_the_callback_key() -> None:
    loop = ScriptedLoop()
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(loop)) as server:
        response = httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        assert response.status_code == 202
        assert response.json() == {"rollout_id": "r-1", "tools": [TOOL.model_dump()]}
        done = trainer.wait_for("r-1")
        health = httpx.get(f"{server.url}/health").json()
    assert done["status"] == "COMPLETED" and done["reward"] == 1.0 and done["finish_reason"] == "stop"
    assert done["final_messages"][-1] == {"role": "assistant", "content": "#### 5"}
    assert done["metrics"]["num_llm_calls"] == 1 and "error_message" not in done  # sent with exclude_none
    (chat,) = trainer.chat_requests
    assert chat["rollout_id"] == "r-1" and chat["temperature"] == 0.5 and "tools" not in chat
    assert chat["messages"] == init_body(trainer.url)["messages"]
    assert trainer.http.auth_headers == [f"Bearer {TRAINER_KEY}"]
    assert health["status"] == "healthy" and health["agent_loop"] == "scripted_loop"
    assert (health["completed_rollouts"], health["active_rollouts"], health["undelivered_completions"]) == (1, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rollout_id": "", "server_url": "http://127.0.0.1:1", "messages": []},
        {"rollout_id": "   ", "server_url": "http://127.0.0.1:1", "messages": []},
        {"rollout_id": "x" * 257, "server_url": "http://127.0.0.1:1", "messages": []},
        {"rollout_id": "r", "server_url": "ftp://host/x", "messages": []},
        {"rollout_id": "r", "server_url": "http://", "messages": []},
        {"rollout_id": "r", "server_url": "http://127.0.0.1:1", "messages": "not a list"},
        {"rollout_id": "r", "server_url": "http://127.0.0.1:1", "messages": [], "metadata": {"blob": "x" * 1_100_000}},
        {"rollout_id": 5, "server_url": "http://127.0.0.1:1", "messages": []},
    ],
    ids=["empty", "blank-id", "spaces-id", "long-id", "ftp", "no-host", "messages-str", "metadata-1.1MB", "int-id"],
)
def test_bad_init_bodies_are_422_and_never_reach_the_loop(body: dict[str, Any]) -> None:
    loop = ScriptedLoop()
    with AppServer(app_of(loop)) as server:
        response = httpx.post(f"{server.url}/v1/rollout/init", json=body)
        headers = {"content-type": "application/json"}
        not_json = httpx.post(f"{server.url}/v1/rollout/init", content=b"{nope", headers=headers)
        health = httpx.get(f"{server.url}/health")
    assert response.status_code == 422 and not_json.status_code == 422
    assert loop.runs == [] and health.status_code == 200


def test_metadata_just_under_a_megabyte_is_accepted() -> None:
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(ScriptedLoop())) as server:
        body = init_body(trainer.url, metadata={"blob": "x" * 1_000_000, "ground_truth": "5"})
        assert httpx.post(f"{server.url}/v1/rollout/init", json=body, timeout=30).status_code == 202
        assert trainer.wait_for("r-1")["status"] == "COMPLETED"


def test_path_like_rollout_ids_stay_inside_the_debug_folder(tmp_path: Path) -> None:
    debug = tmp_path / "logs" / "1700000000"
    ids = ["../../../escaped", "a/b/c", "..", "/etc/passwd"]
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(ScriptedLoop(), debug_dir=debug)) as server:
        for rid in ids:
            assert httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url, rid)).status_code == 202
        for rid in ids:
            trainer.wait_for(rid)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == len(ids) and all(p.parent == debug for p in written)
    events = [json.loads(line)["event"] for p in written for line in p.read_text().splitlines()]
    assert {"server_init", "llm_response", "server_completed"} <= set(events)


def test_duplicate_inits_racing_start_one_rollout_and_all_get_the_first_202() -> None:
    loop = ScriptedLoop()
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(loop)) as server:
        body = init_body(trainer.url, idempotency_key="same-key")

        def post(_: int) -> httpx.Response:
            return httpx.post(f"{server.url}/v1/rollout/init", json=body)

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(post, range(24)))
        trainer.wait_for("r-1")
        again = post(0)  # after it finished: still the same answer, still no new rollout
        time.sleep(0.2)
    assert {r.status_code for r in [*responses, again]} == {202}
    assert len({r.text for r in [*responses, again]}) == 1
    assert loop.runs == ["r-1"] and len(trainer.completed_requests) == 1


def test_reusing_the_id_of_a_running_rollout_under_another_key_is_a_409() -> None:
    loop = ScriptedLoop("hang")
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(loop)) as server:
        first = httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url, idempotency_key="a"))
        second = httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url, idempotency_key="b"))
    assert (first.status_code, second.status_code) == (202, 409) and "already running" in second.text


@pytest.mark.parametrize(
    ("behaviour", "error", "kept"),
    [
        ("raise", "the agent loop raised KeyError", 3),  # system, user, the assistant reply
        ("none", "run() returned NoneType, not a RolloutResult", 3),
    ],
)
def test_a_loop_that_raises_or_never_completes_still_sends_the_transcript(
    behaviour: str, error: str, kept: int
) -> None:
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(ScriptedLoop(behaviour))) as server:
        httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        done = trainer.wait_for("r-1")
        health = httpx.get(f"{server.url}/health").json()
    assert done["status"] == "ERROR" and error in done["error_message"] and done["finish_reason"] == "error"
    assert len(done["final_messages"]) == kept and done["final_messages"][-1]["content"] == "#### 5"
    assert health["failed_rollouts"] == 1 and health["status"] == "healthy"


def test_a_loop_that_hangs_past_the_deadline_ends_as_an_error() -> None:
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(ScriptedLoop("hang"), rollout_timeout_s=0.3)) as server:
        httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        done = trainer.wait_for("r-1")
    assert done["status"] == "ERROR" and "deadline of 0.3 s" in done["error_message"]
    assert len(done["final_messages"]) == 2  # the initial messages: nothing else was said


def test_a_5xx_llm_callback_is_retried_and_a_4xx_is_not() -> None:
    calls = {"n": 0}

    def flaky(_body: dict[str, Any]) -> Any:
        calls["n"] += 1
        return ScriptedReply(status=503) if calls["n"] < 3 else chat_completion(content="#### 5")

    with ScriptedTrainer(flaky) as trainer, AppServer(app_of(ScriptedLoop())) as server:
        httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        assert trainer.wait_for("r-1")["status"] == "COMPLETED"
    assert calls["n"] == 3

    with ScriptedTrainer(lambda _b: ScriptedReply(status=400, body={"error": "bad turn"})) as trainer, \
            AppServer(app_of(ScriptedLoop())) as server:  # fmt: skip
        httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        done = trainer.wait_for("r-1")
    assert len(trainer.chat_requests) == 1  # never retried
    assert done["status"] == "ERROR" and "HTTP 400" in done["error_message"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_with_the_trainer_down_the_result_is_kept_counted_and_delivered_once_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    down = f"http://127.0.0.1:{port}"
    with caplog.at_level(logging.ERROR, logger="osmosis_local.rollout.server"), \
            AppServer(app_of(ScriptedLoop(), debug_dir=tmp_path)) as server:  # fmt: skip
        assert httpx.post(f"{server.url}/v1/rollout/init", json=init_body(down)).status_code == 202
        wait_until(lambda: httpx.get(f"{server.url}/health").json()["undelivered_completions"] == 1)
        kept = list((tmp_path / "undelivered").glob("*.json"))
        assert len(kept) == 1 and json.loads(kept[0].read_text())["response"]["status"] == "ERROR"
        with ScriptedTrainer(answer, port=port) as trainer:  # the trainer comes back on its port
            done = trainer.wait_for("r-1")
            wait_until(lambda: httpx.get(f"{server.url}/health").json()["undelivered_completions"] == 0)
        assert not list((tmp_path / "undelivered").glob("*.json"))
    assert done["status"] == "ERROR" and "LLM callback" in done["error_message"]
    assert "NOT delivered" in caplog.text and TRAINER_KEY not in caplog.text


def test_a_completion_the_trainer_never_accepts_stays_visible() -> None:
    with ScriptedTrainer(answer, completed_status=500) as trainer, AppServer(app_of(ScriptedLoop())) as server:
        httpx.post(f"{server.url}/v1/rollout/init", json=init_body(trainer.url))
        wait_until(lambda: httpx.get(f"{server.url}/health").json()["undelivered_completions"] == 1)
        wait_until(lambda: len(trainer.completed_requests) >= 4)  # 3 first attempts, then the redelivery
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_auth_is_a_constant_time_bearer_or_raw_token_and_platform_health_hides_behind_it() -> None:
    with ScriptedTrainer(answer) as trainer, AppServer(app_of(ScriptedLoop(), api_key=SERVER_KEY)) as server:
        url = f"{server.url}/v1/rollout/init"
        missing = httpx.post(url, json=init_body(trainer.url, "a"))
        wrong = httpx.post(url, json=init_body(trainer.url, "b"), headers={"Authorization": "Bearer nope"})
        bearer = httpx.post(url, json=init_body(trainer.url, "c"), headers={"Authorization": f"Bearer {SERVER_KEY}"})
        raw = httpx.post(url, json=init_body(trainer.url, "d"), headers={"Authorization": SERVER_KEY})
        platform = [httpx.get(f"{server.url}/platform/health", headers=h).status_code
                    for h in ({}, {"Authorization": f"Bearer {SERVER_KEY}"})]  # fmt: skip
        trainer.wait_for("c")
        trainer.wait_for("d")
    assert (missing.status_code, wrong.status_code, bearer.status_code, raw.status_code) == (401, 401, 202, 202)
    assert platform == [401, 200] and SERVER_KEY not in missing.text + wrong.text
    with AppServer(app_of(ScriptedLoop())) as server:
        assert httpx.get(f"{server.url}/platform/health").status_code == 404
