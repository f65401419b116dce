"""The settings spine: one typed model per command, recorded in the header, echoed as ``config``, compared
by ``--resume``, read back by rescore and view. ``--top-p`` is the setting added through it end to end.

The model is the scripted-policy TEST DOUBLE behind a real HTTP endpoint; the tools are the real `mcp/`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import DATASET, MCP_DIR, NUMBERS, Cli, jsonl
from pydantic import ValidationError

from osmosis_local import evaluate
from osmosis_local.cli import main
from osmosis_local.config.settings import MAY_CHANGE_ON_RESUME, EvalConfig, RolloutTestConfig, resume_differences
from osmosis_local.log.records import LogHeader
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer

KEY = "sk-settings-secret-0123456789"


def test_top_p_is_sent_recorded_echoed_and_kept_by_a_rescore(
    policy: ScriptedOpenAIServer, cli: Cli, llm_client: str, tmp_path: Path
) -> None:
    run = cli.eval(policy.base_url, "--api-key", KEY, "--top-p", "0.9", "--llm-client", llm_client, limit=2)
    assert run.code == 0
    sent = [r for r in policy.requests if r.get("max_tokens") != 1]  # not the preflight
    assert sent and all(r["top_p"] == 0.9 for r in sent)
    out, header = run.out, run.header
    assert out["config"]["top_p"] == 0.9 and header["settings"]["top_p"] == 0.9
    assert out["config"] == header["settings"]  # the result echoes what the header records
    assert KEY not in run.output.read_text() + run.log.read_text()
    assert "api_key" not in out["config"]

    rescored = tmp_path / "rescored.json"
    assert cli("rescore", run.log, "--eval-fn", NUMBERS, "-q", "-o", rescored, "--log", tmp_path / "rescore.jsonl") == 0
    result = json.loads(rescored.read_text())
    assert result["config"]["top_p"] == 0.9 and jsonl(tmp_path / "rescore.jsonl")[0]["settings"]["top_p"] == 0.9
    assert result["config"]["rescore_of"] == str(run.log)


def test_without_top_p_none_is_sent(policy: ScriptedOpenAIServer, cli: Cli) -> None:
    assert cli.eval(policy.base_url, limit=2).code == 0
    assert policy.requests and not any("top_p" in r for r in policy.requests)


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", "nan", "high"])
def test_a_top_p_outside_0_to_1_is_refused_naming_the_flag(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["eval", "--mcp", "mcp", "-d", str(DATASET), "--model", "m", "--eval-fn", NUMBERS, "--top-p", value])
    assert info.value.code == 2
    assert "--top-p" in capsys.readouterr().err


def test_resume_refuses_another_top_p(
    policy: ScriptedOpenAIServer, cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli.eval(policy.base_url, "--top-p", "0.9", limit=2)
    assert first.code == 0
    before = first.log.read_bytes()
    assert cli.eval(policy.base_url, "--top-p", "0.5", "--resume", str(first.log), limit=2, name="other").code == 2
    # what may change between resumes does not refuse it
    again = cli.eval(policy.base_url, "--top-p", "0.9", "--batch-size", "2", "--n", "2", "--resume", str(first.log),
                     limit=2, name="other")  # fmt: skip
    assert again.code == 0
    assert "top_p: the log has 0.9, this run has 0.5" in capsys.readouterr().err
    assert first.log.read_bytes().startswith(before)


def test_the_python_api_takes_the_same_options_and_refuses_bad_ones_by_name(
    policy: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    result = evaluate(mcp=MCP_DIR, dataset=DATASET, eval_fn=NUMBERS, model="scripted", base_url=policy.base_url,
                      limit=1, top_p=0.5, n=2, log=tmp_path / "api.jsonl")  # fmt: skip
    assert result.config.top_p == 0.5 and result.config.n_runs == 2 and result.config.eval_fns == [NUMBERS]
    assert result.config.tools_sha256 and result.config.dataset_sha256  # resolved by the run
    with pytest.raises(ValidationError, match="top_p"):
        EvalConfig.model_validate({"mcp": "mcp", "dataset": "d.jsonl", "model": "m", "eval_fn": [NUMBERS], "top_p": 2})


BASE = {"mcp": "mcp", "dataset": "d.jsonl", "model": "m", "eval_fns": [NUMBERS]}


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"top_p": 0.3}, True),
        ({"temperature": 0.3}, True),
        ({"max_tokens": 50}, True),
        ({"seed": 1}, True),
        ({"max_turns": 3}, True),
        ({"model": "other"}, True),
        ({"base_url": "http://127.0.0.1:1/v1"}, True),
        ({"baseline_model": "b"}, True),
        ({"eval_fns": [NUMBERS, "x:y"]}, True),
        ({"dataset_sha256": "0" * 64}, True),
        ({"tools_sha256": "1" * 64}, True),
        ({"harness_version": "0.0.1"}, True),
        ({"n_runs": 4}, False),
        ({"limit": 3, "offset": 1}, False),
        ({"batch_size": 8}, False),
        ({"pass_threshold": 0.5}, False),
        ({"mcp": None, "mcp_url": "http://127.0.0.1:8080/mcp"}, False),  # the tools' SHA-256 is what counts
        ({"llm_client": "litellm", "request_timeout": 5, "max_retries": 0, "tool_timeout": 1}, False),
        ({"fail_under": 0.5}, False),
        ({"api_key": "sk-other-key-000000"}, False),  # never recorded
    ],
)
def test_resume_compares_every_setting_but_those_named_as_changeable(change: dict[str, Any], refused: bool) -> None:
    logged = EvalConfig.model_validate(BASE)
    now = EvalConfig.model_validate({**BASE, **change})
    differences = resume_differences(logged, now)
    assert bool(differences) is refused
    assert {line.split(":")[0] for line in differences} <= set(change)


def test_every_setting_that_may_change_on_resume_is_a_setting() -> None:
    assert MAY_CHANGE_ON_RESUME <= set(EvalConfig.model_fields)


def test_a_header_of_the_previous_layout_reads_as_todays(tmp_path: Path) -> None:
    old = {
        "kind": "header", "key": "#header", "command": "eval", "created_at": "2026-12-01T00:00:00+00:00",
        "dataset": "test_data.jsonl",
        "settings": {"dataset_sha256": "a" * 64, "model": "scripted", "base_url": "http://127.0.0.1:9/v1",
                     "baseline_model": None, "baseline_base_url": None, "eval_fns": [NUMBERS], "max_turns": 10,
                     "temperature": None, "max_tokens": None, "seed": 3, "tools_sha256": "b" * 64,
                     "harness_version": "0.1.0"},
        "run": {"mcp": "http://127.0.0.1:8080/mcp", "n_runs": 2, "pass_threshold": 0.5, "limit": 4, "offset": 1,
                "batch_size": 8, "rescore_of": None},
    }  # fmt: skip
    header = LogHeader.model_validate(old)
    settings = header.eval_settings
    assert settings is not None
    assert (settings.model, settings.seed, settings.n_runs, settings.pass_threshold) == ("scripted", 3, 2, 0.5)
    assert (settings.mcp, settings.mcp_url, settings.limit, settings.offset) == (None, old["run"]["mcp"], 4, 1)
    assert settings.dataset == Path("test_data.jsonl") and settings.harness_version == "0.1.0"


def test_a_test_log_records_its_settings_too(policy: ScriptedOpenAIServer, cli: Cli, tmp_path: Path) -> None:
    code = cli("test", "--mcp", MCP_DIR, "-d", DATASET, "--model", "scripted", "--base-url", policy.base_url,
               "--limit", "1", "--top-p", "0.7", "-q", "-o", tmp_path / "out.json", "--log", tmp_path / "test.jsonl")
    assert code == 0
    header = LogHeader.model_validate(jsonl(tmp_path / "test.jsonl")[0])
    assert isinstance(header.settings, RolloutTestConfig) and header.settings.top_p == 0.7
    assert json.loads((tmp_path / "out.json").read_text())["config"]["top_p"] == 0.7


# -- --fail-under takes the names the console shows --------------------------------------------------------

FNS = ["reward_fn.compute_reward:numbers_match_reward", "reward_fn.tool_use_reward:score", "reward_rubric.judge:score"]


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("reward_fn.compute_reward:numbers_match_reward", "reward_fn.compute_reward:numbers_match_reward"),
        ("numbers_match_reward", "reward_fn.compute_reward:numbers_match_reward"),  # the console's short name
        ("compute_reward:numbers_match_reward", "reward_fn.compute_reward:numbers_match_reward"),
        ("tool_use_reward:score", "reward_fn.tool_use_reward:score"),
        ("judge:score", "reward_rubric.judge:score"),
    ],
)
def test_fail_under_accepts_any_unambiguous_name_of_an_eval_function(given: str, resolved: str) -> None:
    config = EvalConfig(mcp=MCP_DIR, dataset=DATASET, model="m", eval_fns=FNS, fail_under=[f"{given}=0.5"])
    assert config.fail_under.per_fn == {resolved: 0.5}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("score", "--fail-under score matches 2 eval functions (reward_fn.tool_use_reward:score, "
                  "reward_rubric.judge:score): give the full MOD:FN"),
        ("nope", "--fail-under nope: no --eval-fn of this run is called that (this run's: "
                 "reward_fn.compute_reward:numbers_match_reward, "),
        ("match_reward", "--fail-under match_reward: no --eval-fn"),  # a tail is a whole name, not a substring
    ],
)  # fmt: skip
def test_fail_under_refuses_a_name_that_matches_none_or_several(
    given: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--mcp", str(MCP_DIR), "-d", str(DATASET), "--model", "m", "--fail-under", f"{given}=0.5"]
    for fn in FNS:
        argv += ["--eval-fn", fn]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: osmosis-local eval ")  # the subcommand's usage, not the top level's


def test_the_python_api_takes_every_setting_a_flag_sets() -> None:
    """`evaluate(**options)` / `run_test(**options)`: each setting a person sets has its typed keyword."""
    import typing

    from osmosis_local.config.options import EvalOptions, RolloutTestOptions

    recorded = {"dataset_sha256", "tools_sha256", "harness_version", "rescore_of", "config_file"}  # set by the harness
    spelled = {"eval_fns": "eval_fn", "n_runs": "n", "base_url_replicas": "base_url",
               "baseline_base_url_replicas": "baseline_base_url"}  # the flag's name (several --base-url: a list)
    for config, options in ((EvalConfig, EvalOptions), (RolloutTestConfig, RolloutTestOptions)):
        keywords = set(typing.get_type_hints(options))
        missing = {spelled.get(f, f) for f in config.model_fields if f not in recorded} - keywords
        assert not missing, f"{options.__name__} lacks {sorted(missing)}"
