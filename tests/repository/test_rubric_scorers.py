"""The reward_rubric/ scorers and scripts/score_rubric_sample.py against a scripted judge on loopback."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import subprocess
import sys

import pytest
from helpers import REPO

from osmosis_local import MissingAPIKeyError
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion

HOSTED = [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("xai", "XAI_API_KEY")]
ROW = {
    "id": "row-0007",
    "system_prompt": "Use the tools. End with #### <number>.",
    "user_prompt": "What is 6 times 7?",
    "ground_truth": "42",
    "num_steps": 1,
    "steps": [{"tool": "multiply", "arguments": {"a": 6, "b": 7}}],
    "api_key": "must-never-be-quoted",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    for name in (
        "OSMOSIS_RUBRIC_CACHE_DIR",
        "OSMOSIS_JUDGE_MODEL",
        "OSMOSIS_JUDGE_API_KEY",
        *(env for _, env in HOSTED),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OSMOSIS_RUBRIC_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("OSMOSIS_RUBRIC_RETRY_WAIT_S", "0.01")


def _scorer(provider: str):
    module = importlib.import_module(f"reward_rubric.reward_rubric_{provider}")
    return module, getattr(module, f"compute_rubric_score_{provider}")


@pytest.mark.parametrize("provider", ["openai", "anthropic", "xai", "local"])
def test_scorer_module_shape(provider: str) -> None:
    module, scorer = _scorer(provider)
    for constant in ("RUBRIC", "SCORE_MIN", "SCORE_MAX", "PROVIDER", "MODEL", "API_KEY_ENV"):
        assert hasattr(module, constant), constant
    params = list(inspect.signature(scorer).parameters.values())
    assert [p.name for p in params[:3]] == ["solution_str", "ground_truth", "extra_info"]
    assert all(p.default is inspect.Parameter.empty for p in params[:3])
    assert params[3].kind is inspect.Parameter.VAR_KEYWORD


def test_local_scorer_judges_through_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = json.dumps({"score": 1.0, "explanation": "42 matches"})
    with ScriptedOpenAIServer(lambda _b: chat_completion(content=reply)) as server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", server.base_url)
        _, scorer = _scorer("local")
        score = scorer(solution_str="6*7 = 42\n#### 42", ground_truth="42", extra_info=dict(ROW), data_source="x")
    assert score == 1.0 and type(score) is float
    sent = server.requests[0]
    assert sent["model"] == "local/qwen2.5-1.5b"
    user = sent["messages"][1]["content"]
    assert "<<<BEGIN_ORIGINAL_INPUT>>>\nWhat is 6 times 7?\n<<<END_ORIGINAL_INPUT>>>" in user
    assert "<<<BEGIN_GROUND_TRUTH>>>\n42\n<<<END_GROUND_TRUTH>>>" in user
    # Dataset bookkeeping (id, steps with operands) is not quoted: it misled the small judge.
    assert "<<<BEGIN_METADATA>>>" not in user
    assert "must-never-be-quoted" not in user


def test_an_explicit_metadata_dict_is_quoted_to_the_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = json.dumps({"score": 1.0, "explanation": "42 matches"})
    with ScriptedOpenAIServer(lambda _b: chat_completion(content=reply)) as server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", server.base_url)
        _, scorer = _scorer("local")
        scorer(solution_str="#### 42", ground_truth="42", extra_info={**ROW, "metadata": {"unit": "apples"}})
    user = server.requests[0]["messages"][1]["content"]
    metadata = json.loads(user.split("<<<BEGIN_METADATA>>>\n")[1].split("\n<<<END_METADATA>>>")[0])
    assert metadata == {"unit": "apples"}
    assert "must-never-be-quoted" not in user


def test_local_scorer_honours_model_and_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = json.dumps({"score": 0, "explanation": "wrong"})
    with ScriptedOpenAIServer(lambda _b: chat_completion(content=reply)) as server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", server.base_url)
        monkeypatch.setenv("OSMOSIS_JUDGE_MODEL", "Qwen/Qwen3-0.6B")
        monkeypatch.setenv("OSMOSIS_JUDGE_API_KEY", "server-token")
        _, scorer = _scorer("local")
        assert scorer(solution_str="#### 41", ground_truth="42", extra_info={}) == 0.0
    assert server.requests[0]["model"] == "Qwen/Qwen3-0.6B"
    assert server.auth_headers[0] == "Bearer server-token"


def test_local_scorer_surfaces_judge_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    from osmosis_local import ProviderRequestError

    with ScriptedOpenAIServer(lambda _b: ScriptedReply(status=500)) as server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", server.base_url)
        _, scorer = _scorer("local")
        with pytest.raises(ProviderRequestError, match="HTTP 500"):
            scorer(solution_str="#### 42", ground_truth="42", extra_info={})
    assert len(server.requests) == 2


@pytest.mark.parametrize("provider", ["openai", "anthropic", "xai", "local"])
def test_empty_answer_scores_minimum_without_a_judge_call(provider: str) -> None:
    _, scorer = _scorer(provider)
    assert scorer(solution_str="   ", ground_truth="42", extra_info={}) == 0.0


@pytest.mark.parametrize(("provider", "env_name"), HOSTED)
def test_hosted_scorer_without_key_says_what_to_export(provider: str, env_name: str) -> None:
    _, scorer = _scorer(provider)
    with pytest.raises(MissingAPIKeyError) as info:
        scorer(solution_str="#### 42", ground_truth="42", extra_info=dict(ROW))
    assert f"'{env_name}' is not set" in str(info.value)
    assert f'export {env_name}="..."' in str(info.value)


def _run_script(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in {e for _, e in HOSTED}}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "score_rubric_sample.py"), *args],
        capture_output=True, text=True, env=env, timeout=120, cwd=REPO,
    )  # fmt: skip


def test_sample_script_prints_the_score(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("score_rubric_sample", REPO / "scripts" / "score_rubric_sample.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    reply = json.dumps({"score": 1, "explanation": "ok"})
    with ScriptedOpenAIServer(lambda _b: chat_completion(content=reply)) as server:
        monkeypatch.setenv("OSMOSIS_JUDGE_BASE_URL", server.base_url)
        assert script.main(["--provider", "local"]) == 0
    assert capsys.readouterr().out == "score: 1.0\n"
    assert "#### 42" in server.requests[0]["messages"][1]["content"]


def test_sample_script_exits_1_with_a_clear_message() -> None:
    missing = _run_script("--provider", "xai", env_extra={})
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.startswith("Error: xai rubric judge failed: MissingAPIKeyError:")
    assert 'export XAI_API_KEY="..."' in missing.stderr
