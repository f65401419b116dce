"""evaluate_rubric / aevaluate_rubric against a real OpenAI-compatible HTTP judge on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from osmosis_local import ModelNotFoundError, ProviderRequestError, aevaluate_rubric, evaluate_rubric
from osmosis_local.llm.retry import RetryPolicy
from osmosis_local.rubric import judge_usage
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion, tool_call

FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.05)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OSMOSIS_RUBRIC_CACHE_DIR", "OSMOSIS_RUBRIC_RETRY_ATTEMPTS", "OSMOSIS_RUBRIC_RETRY_WAIT_S"):
        monkeypatch.delenv(name, raising=False)


class _Judge:
    """One loopback judge per module (starting/stopping a server costs ~0.5 s); tests swap its script."""

    def __init__(self) -> None:
        self._responder = None
        self.server = ScriptedOpenAIServer(lambda body: self._responder(body))

    def __call__(self, responder) -> ScriptedOpenAIServer:
        self._responder = responder
        self.server.requests.clear()
        self.server.auth_headers.clear()
        return self.server

    def __enter__(self) -> _Judge:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def judge():
    with _Judge() as shared:
        yield shared


def _info(server: ScriptedOpenAIServer, **extra) -> dict:
    return {"provider": "vllm", "model": "judge-model", "base_url": server.base_url, "retry": FAST, **extra}


def _sequence(*replies):
    it = iter(replies)
    return lambda _body: next(it)


def _content(text: str):
    return lambda _body: chat_completion(content=text)


GOOD = {"score": 0.75, "explanation": "mostly right"}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(_content(json.dumps(GOOD)), 0.75, id="plain-json"),
        pytest.param(_content("```json\n" + json.dumps(GOOD) + "\n```"), 0.75, id="fenced-json"),
        pytest.param(_content("```\n" + json.dumps(GOOD) + "\n```"), 0.75, id="bare-fence"),
        pytest.param(_content("Here is my verdict: " + json.dumps(GOOD) + " Hope that helps!"), 0.75, id="prose"),
        pytest.param(_content('<think>{"score": 0.1} maybe?</think>\n' + json.dumps(GOOD)), 0.75, id="think-block"),
        pytest.param(
            lambda _b: chat_completion(content=None, tool_calls=[tool_call("emit_score", GOOD)]), 0.75, id="tool-call"
        ),
        pytest.param(_content('{"score": "0.5", "explanation": "half"}'), 0.5, id="numeric-string"),
        pytest.param(_content('{"score": 7, "explanation": "too generous"}'), 1.0, id="clamped-high"),
        pytest.param(_content('{"score": -3, "explanation": "too harsh"}'), 0.0, id="clamped-low"),
    ],
)
def test_reply_shapes_are_read_and_clamped(judge: _Judge, reply, expected: float) -> None:
    server = judge(reply)
    score = evaluate_rubric("Is it right?", "#### 42", _info(server), ground_truth="42")
    assert score == expected
    assert isinstance(score, float)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("I cannot judge this, sorry.", "no JSON object", id="garbage"),
        pytest.param('{"score": true, "explanation": "yes"}', "boolean", id="bool-score"),
        pytest.param('{"score": NaN, "explanation": "odd"}', "finite", id="nan-score"),
        pytest.param('{"score": 1.0, "explanation": "  "}', "explanation", id="blank-explanation"),
        pytest.param('{"score": "high", "explanation": "x"}', "must be a number", id="word-score"),
        pytest.param("", "did not include any content", id="empty"),
    ],
)
def test_unusable_replies_raise_provider_request_error(judge: _Judge, text: str, problem: str) -> None:
    server = judge(_content(text))
    with pytest.raises(ProviderRequestError) as info:
        evaluate_rubric("Is it right?", "#### 42", _info(server))
    assert problem in str(info.value)
    assert info.value.provider == "vllm" and info.value.model == "judge-model"


def test_return_details_has_score_explanation_raw_and_usage(judge: _Judge) -> None:
    reply = lambda _b: chat_completion(content=json.dumps(GOOD), prompt_tokens=120, completion_tokens=9)  # noqa: E731
    before = judge_usage()
    server = judge(reply)
    details = evaluate_rubric("r", "a", _info(server), return_details=True)
    after = judge_usage()
    assert details["score"] == 0.75
    assert details["explanation"] == "mostly right"
    assert details["raw"]["choices"][0]["message"]["content"] == json.dumps(GOOD)
    assert details["usage"] == {"prompt_tokens": 120, "completion_tokens": 9}
    assert details["cached"] is False
    assert after["calls"] - before["calls"] == 1
    assert after["prompt_tokens"] - before["prompt_tokens"] == 120
    assert after["completion_tokens"] - before["completion_tokens"] == 9


def test_429_then_200_is_retried(judge: _Judge) -> None:
    replies = _sequence(
        ScriptedReply(status=429, headers={"Retry-After": "0.05"}), chat_completion(content=json.dumps(GOOD))
    )
    server = judge(replies)
    assert evaluate_rubric("r", "a", _info(server)) == 0.75
    assert len(server.requests) == 2


def test_persistent_500_is_retried_then_raises(judge: _Judge) -> None:
    server = judge(lambda _b: ScriptedReply(status=500))
    with pytest.raises(ProviderRequestError) as info:
        evaluate_rubric("r", "a", _info(server))
    assert len(server.requests) == FAST.max_attempts
    assert "HTTP 500" in str(info.value) and "3 attempts" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_hang_past_timeout_raises_after_retrying(judge: _Judge) -> None:
    slow = lambda _b: ScriptedReply(body=chat_completion(content=json.dumps(GOOD)), delay_s=3)  # noqa: E731
    server = judge(slow)
    started = time.monotonic()
    with pytest.raises(ProviderRequestError) as info:
        evaluate_rubric("r", "a", _info(server, retry=RetryPolicy(max_attempts=2, initial_wait_s=0.01)), timeout=0.4)
    elapsed = time.monotonic() - started
    assert "timed out" in str(info.value)
    assert len(server.requests) == 2
    assert elapsed < 2.5


def test_404_is_model_not_found_and_not_retried(judge: _Judge) -> None:
    server = judge(lambda _b: ScriptedReply(status=404))
    with pytest.raises(ModelNotFoundError) as info:
        evaluate_rubric("r", "a", _info(server))
    assert isinstance(info.value, ProviderRequestError)
    assert "judge-model" in str(info.value) and "not found" in str(info.value)
    assert len(server.requests) == 1


def test_unreachable_judge_raises_instead_of_scoring_zero() -> None:
    with ScriptedOpenAIServer(_content(json.dumps(GOOD))) as server:
        info = _info(server)
    with pytest.raises(ProviderRequestError, match="Cannot reach"):
        evaluate_rubric("r", "a", info)


def test_request_carries_schema_temperature_and_placeholder_key(judge: _Judge) -> None:
    server = judge(_content(json.dumps(GOOD)))
    evaluate_rubric("r", "a", _info(server, reasoning_effort="low"))
    sent = server.requests[0]
    assert sent["model"] == "judge-model"
    assert sent["temperature"] == 0
    assert sent["reasoning_effort"] == "low"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "reward_rubric_response"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["score", "explanation"]
    assert server.auth_headers[0] == "Bearer no-key-required"


@pytest.mark.parametrize(("mode", "expected"), [("json_object", {"type": "json_object"}), ("none", None)])
def test_response_format_can_be_overridden(judge: _Judge, mode: str, expected) -> None:
    server = judge(_content(json.dumps(GOOD)))
    evaluate_rubric("r", "a", _info(server, response_format=mode))
    assert server.requests[0].get("response_format") == expected


def test_aevaluate_rubric_runs_concurrently(judge: _Judge) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def responder(body: dict) -> ScriptedReply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        answer = body["messages"][1]["content"].split("<<<BEGIN_CANDIDATE_OUTPUT>>>\n")[1].split("\n")[0]
        return ScriptedReply(body=chat_completion(content=json.dumps({"score": int(answer) / 10, "explanation": "ok"})))

    async def score_all(server: ScriptedOpenAIServer) -> list[float]:
        return await asyncio.gather(*(aevaluate_rubric("r", str(i), _info(server)) for i in range(8)))

    server = judge(responder)
    scores = asyncio.run(score_all(server))
    assert scores == [i / 10 for i in range(8)]
    assert peak >= 4  # the calls overlapped instead of running one after another


def test_local_provider_starts_the_embedded_endpoint_lazily(judge: _Judge, monkeypatch: pytest.MonkeyPatch) -> None:
    import osmosis_local.local_model as local_model

    started: list[str] = []
    server = judge(_content(json.dumps(GOOD)))

    def fake_start(model_name: str) -> str:
        started.append(model_name)
        return server.base_url

    monkeypatch.setattr(local_model, "start_local_endpoint", fake_start, raising=False)
    score = evaluate_rubric("r", "a", {"provider": "local", "model": "qwen2.5-1.5b", "retry": FAST})
    assert score == 0.75
    assert started == ["local/qwen2.5-1.5b"]
    assert server.requests[0]["model"] == "local/qwen2.5-1.5b"
