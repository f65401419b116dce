"""The opt-in verdict cache: a repeated call sends no request; anything that changes the verdict misses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osmosis_local import ProviderRequestError, evaluate_rubric
from osmosis_local.rubric import judge_usage
from osmosis_local.rubric.cache import CACHE_ENV, resolve_cache_dir
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, chat_completion

VERDICT = json.dumps({"score": 0.5, "explanation": "half right"})


@pytest.fixture(scope="module")
def server():
    with ScriptedOpenAIServer(lambda _b: chat_completion(content=VERDICT)) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    server.requests.clear()


def _info(server: ScriptedOpenAIServer, cache) -> dict:
    return {"provider": "vllm", "model": "judge", "base_url": server.base_url, "cache": cache}


def test_second_identical_call_is_served_from_disk(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    first = evaluate_rubric("rubric A", "#### 42", _info(server, str(tmp_path)), ground_truth="42", return_details=True)
    hits_before = judge_usage()["cache_hits"]
    second = evaluate_rubric(
        "rubric A", "#### 42", _info(server, str(tmp_path)), ground_truth="42", return_details=True
    )
    assert len(server.requests) == 1
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["score"] == first["score"] == 0.5
    assert second["explanation"] == "half right"
    assert second["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}
    assert judge_usage()["cache_hits"] == hits_before + 1
    assert len(list(tmp_path.rglob("*.json"))) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"rubric": "rubric B"}, id="rubric"),
        pytest.param({"solution_str": "#### 43"}, id="answer"),
        pytest.param({"ground_truth": "43"}, id="ground-truth"),
        pytest.param({"metadata": {"id": "x"}}, id="metadata"),
        pytest.param({"score_max": 10.0}, id="range"),
        pytest.param({"model": "other-judge"}, id="model"),
        pytest.param({"system_prompt": "Be strict."}, id="system-prompt"),
    ],
)
def test_anything_that_changes_the_verdict_misses(server: ScriptedOpenAIServer, tmp_path: Path, change: dict) -> None:
    def call(**override) -> None:
        info = _info(server, str(tmp_path))
        for key in ("model", "system_prompt"):
            if key in override:
                info[key] = override.pop(key)
        kwargs = {"rubric": "rubric A", "solution_str": "#### 42", "ground_truth": "42", **override}
        evaluate_rubric(kwargs.pop("rubric"), kwargs.pop("solution_str"), info, **kwargs)

    call()
    call(**change)
    assert len(server.requests) == 2


def test_env_var_enables_the_cache_and_false_disables_it(
    server: ScriptedOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    for _ in range(2):
        evaluate_rubric("r", "a", _info(server, None))
    assert len(server.requests) == 1
    for _ in range(2):
        evaluate_rubric("r", "a", _info(server, False))
    assert len(server.requests) == 3


def test_corrupt_entry_is_a_miss_and_gets_rewritten(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    evaluate_rubric("r", "a", _info(server, str(tmp_path)))
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert evaluate_rubric("r", "a", _info(server, str(tmp_path))) == 0.5
    assert len(server.requests) == 2
    assert json.loads(entry.read_text(encoding="utf-8"))["score"] == 0.5


def test_failed_judgements_are_not_cached(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(lambda _b: chat_completion(content="no verdict")) as bad:
        with pytest.raises(ProviderRequestError):
            evaluate_rubric("r", "a", _info(bad, str(tmp_path)))
    assert list(tmp_path.rglob("*.json")) == []


@pytest.mark.parametrize(
    ("setting", "env", "expected"),
    [
        (None, None, None),
        (False, "/env", None),
        ("/given", "/env", "/given"),
        (True, "/env", "/env"),
        (None, "/env", "/env"),
    ],
)
def test_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, setting, env, expected) -> None:
    if env:
        monkeypatch.setenv(CACHE_ENV, env)
    resolved = resolve_cache_dir(setting)
    assert (str(resolved) if resolved else None) == expected


def test_true_without_env_uses_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert resolve_cache_dir(True) == tmp_path / "osmosis-local" / "rubric"


def test_unwritable_cache_still_returns_the_verdict(
    server: ScriptedOpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be", encoding="utf-8")
    assert evaluate_rubric("r", "a", _info(server, str(blocker))) == 0.5
    assert "cache write" in caplog.text
