"""`--config FILE.toml`: any flag of `test` / `eval` kept in a file, the command line winning, the resolved
settings recorded; a bad file is a usage error naming the key. The model is the scripted-policy TEST DOUBLE
behind a real HTTP endpoint; the tools are the real `mcp/`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO, jsonl

from osmosis_local.cli import main

SMOKE = REPO / "evals" / "smoke.toml"


def test_the_shipped_smoke_config_runs_and_flags_on_the_command_line_win(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, log = tmp_path / "out.json", tmp_path / "runs.jsonl"
    argv = ["eval", "--config", str(SMOKE), "--model", "scripted", "--base-url", policy.base_url, "--limit", "2",
            "-q", "-o", str(out), "--log", str(log)]  # fmt: skip
    assert main(argv) == 0
    config = json.loads(out.read_text())["config"]
    assert config["model"] == "scripted"  # the command line's, not the file's local/qwen2.5-1.5b
    assert config["limit"] == 2 and config["max_turns"] == 8 and config["seed"] == 0  # the file's, where not typed
    assert config["eval_fns"] == ["reward_fn.compute_reward:numbers_match_reward",
                                  "reward_fn.tool_use_reward:tool_use_reward"]  # fmt: skip
    assert config["mcp"] == str(REPO / "mcp") and config["dataset"] == str(REPO / "test_data.jsonl")  # file-relative
    assert config["config_file"] == str(SMOKE)
    header = jsonl(log)[0]
    assert header["settings"]["config_file"] == str(SMOKE) and header["settings"]["max_turns"] == 8


def test_a_config_can_hold_every_kind_of_flag(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.jsonl").write_text((REPO / "test_data.jsonl").read_text().splitlines()[0] + "\n")
    config = tmp_path / "run.toml"
    config.write_text(
        f'mcp = "{REPO / "mcp"}"\ndataset = "data/rows.jsonl"\n'
        'eval-fn = "reward_fn.compute_reward:numbers_match_reward"\n'
        f'model = "scripted"\nbase_url = "{policy.base_url}"\nn = 2\nbatch-size = 2\ntemperature = 0.5\nquiet = true\n'
        'fail_under = {numbers_match_reward = 0.5}\noutput = "out/result.json"\nlog = "out/runs.jsonl"\n'
    )
    assert main(["eval", "--config", str(config)]) == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["config"]["n_runs"] == 2 and result["config"]["batch_size"] == 2
    assert result["config"]["temperature"] == 0.5
    assert result["config"]["fail_under"]["per_fn"] == {"reward_fn.compute_reward:numbers_match_reward": 0.5}
    assert result["summary"]["total_runs"] == 2


def test_test_takes_a_config_too(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "t.toml"
    config.write_text(f'mcp = "{REPO / "mcp"}"\ndataset = "{REPO / "test_data.jsonl"}"\nmodel = "scripted"\n'
                      f'base-url = "{policy.base_url}"\nlimit = 1\n')  # fmt: skip
    assert main(["test", "--config", str(config), "-q", "-o", str(tmp_path / "t.json")]) == 0
    assert json.loads((tmp_path / "t.json").read_text())["summary"]["total"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('modle = "gpt-5-mini"\n', "modle is not a flag of `osmosis-local eval`; its keys are the flags, e.g."),
        ("n = 0\n", ": n: expected a whole number >= 1, got '0'"),
        ("limit = [\n", "is not valid TOML"),
        ("quiet = 3\n", "quiet is true or false, got 3"),
        ("interactive = true\n", "interactive is not a flag"),
        (None, ": no such file"),
    ],
)
def test_a_bad_config_is_a_usage_error_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, message: str
) -> None:
    config = tmp_path / "bad.toml"
    if text is not None:
        config.write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["eval", "--config", str(config), "--mcp", "mcp", "-d", "x.jsonl", "--eval-fn", "a:b", "--model", "m"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: osmosis-local eval") and message in err and str(config) in err
