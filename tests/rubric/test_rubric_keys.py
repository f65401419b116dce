"""Key resolution order, MissingAPIKeyError texts, and input validation happening before the key lookup."""

from __future__ import annotations

import pytest

from osmosis_local import MissingAPIKeyError, evaluate_rubric
from osmosis_local.rubric.keys import DEFAULT_API_KEY_ENV, PLACEHOLDER_KEY, resolve_api_key, resolve_endpoint_key


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in {*DEFAULT_API_KEY_ENV.values(), "MY_JUDGE_KEY"}:
        monkeypatch.delenv(name, raising=False)


def test_explicit_key_wins_over_every_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_JUDGE_KEY", "from-custom-env")
    monkeypatch.setenv("OPENAI_API_KEY", "from-default-env")
    info = {"api_key": "  explicit-key  ", "api_key_env": "MY_JUDGE_KEY"}
    assert resolve_api_key("openai", info) == "explicit-key"


def test_api_key_env_wins_over_provider_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_JUDGE_KEY", "from-custom-env")
    monkeypatch.setenv("OPENAI_API_KEY", "from-default-env")
    assert resolve_api_key("openai", {"api_key": "   ", "api_key_env": "MY_JUDGE_KEY"}) == "from-custom-env"


@pytest.mark.parametrize(("provider", "env_name"), sorted(DEFAULT_API_KEY_ENV.items()))
def test_provider_default_env_var_is_used(monkeypatch: pytest.MonkeyPatch, provider: str, env_name: str) -> None:
    monkeypatch.setenv(env_name, f"key-for-{provider}")
    assert resolve_api_key(provider, {}) == f"key-for-{provider}"


def test_unset_env_var_names_the_variable_and_the_export_line() -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        resolve_api_key("anthropic", {})
    text = str(info.value)
    assert "Environment variable 'ANTHROPIC_API_KEY' is not set" in text
    assert text.rstrip().endswith('export ANTHROPIC_API_KEY="..."')


def test_custom_env_name_that_is_unset_is_reported_by_its_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "would-be-wrong-to-fall-back")
    with pytest.raises(MissingAPIKeyError, match="'MY_JUDGE_KEY' is not set"):
        resolve_api_key("openai", {"api_key_env": "MY_JUDGE_KEY"})


def test_unknown_provider_asks_for_api_key_env() -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        resolve_api_key("mystery", {})
    text = str(info.value)
    assert "provider 'mystery'" in text and "api_key_env" in text
    assert 'export OPENAI_API_KEY="..."' in text and 'export XAI_API_KEY="..."' in text


def test_endpoint_judges_need_no_key_and_never_borrow_the_hosted_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "hosted-secret")
    assert resolve_endpoint_key("openai", {}) == PLACEHOLDER_KEY
    assert resolve_endpoint_key("openai", {"api_key": "server-key"}) == "server-key"
    monkeypatch.setenv("MY_JUDGE_KEY", "env-server-key")
    assert resolve_endpoint_key("openai", {"api_key_env": "MY_JUDGE_KEY"}) == "env-server-key"


OPENAI = {"provider": "openai", "model": "gpt-4o-mini"}


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        pytest.param({"model_info": {"model": "m"}}, TypeError, "'provider'", id="no-provider"),
        pytest.param({"model_info": {"provider": "openai", "model": " "}}, TypeError, "'model'", id="blank-model"),
        pytest.param({"rubric": "  "}, TypeError, "'rubric'", id="blank-rubric"),
        pytest.param({"solution_str": " \n"}, TypeError, "'solution_str'", id="empty-answer"),
        pytest.param({"solution_str": None}, TypeError, "'solution_str'", id="none-answer"),
        pytest.param({"ground_truth": 42}, TypeError, "'ground_truth'", id="numeric-truth"),
        pytest.param({"metadata": ["x"]}, TypeError, "'metadata'", id="list-metadata"),
        pytest.param({"score_min": 1.0, "score_max": 1.0}, ValueError, "greater than", id="empty-range"),
        pytest.param({"score_max": True}, TypeError, "'score_max'", id="bool-range"),
        pytest.param({"timeout": -1}, ValueError, "'timeout'", id="negative-timeout"),
        pytest.param({"model_info": {**OPENAI, "base_url": "localhost:8000"}}, ValueError, "base_url", id="bad-url"),
    ],
)
def test_bad_inputs_are_reported_before_the_missing_key(kwargs: dict, error: type, text: str) -> None:
    call = {"rubric": "Is it right?", "solution_str": "#### 42", "model_info": OPENAI, **kwargs}
    with pytest.raises(error, match=text):
        evaluate_rubric(call.pop("rubric"), call.pop("solution_str"), call.pop("model_info"), **call)


def test_valid_inputs_then_reach_the_key_check() -> None:
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        evaluate_rubric("Is it right?", "#### 42", OPENAI, ground_truth="42")


def test_importing_the_judge_and_scorers_does_not_import_litellm() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, osmosis_local.rubric, reward_rubric.reward_rubric_openai, reward_rubric.reward_rubric_local; "
        "from osmosis_local import evaluate_rubric, aevaluate_rubric; "
        "assert 'litellm' not in sys.modules, 'litellm imported at module import'"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
