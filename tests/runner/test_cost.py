"""What an eval costs: tokens priced per model from litellm's bundled price list (read as data), n/a when the
price is unknown, and `--max-cost`, which stops an eval cleanly before it spends more (resumable).

The model is the scripted-policy TEST DOUBLE behind a real HTTP endpoint; a priced model is simulated by calling
it by a priced name (`gpt-4o-mini`) through `--base-url`, which prices it by its name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import eval_argv, jsonl

from osmosis_local.cli import main
from osmosis_local.prices import FREE, price_list_path, price_of


@pytest.mark.parametrize(
    ("name", "is_local", "known"),
    [
        ("gpt-4o-mini", False, True),  # a bare OpenAI name
        ("openai/gpt-4o-mini", False, True),  # the same with its provider
        ("local/qwen2.5-1.5b", True, True),  # the embedded model: free
        ("scripted", False, True),  # the harness's test double: free
        ("my-finetune-v3", False, False),  # a model only a --base-url serves: unknown, never guessed
        ("anthropic/gpt-4o-mini", False, False),  # a name under the wrong provider is not priced
    ],
)
def test_prices_are_read_from_the_bundled_list_and_unknown_is_none(name: str, is_local: bool, known: bool) -> None:
    price = price_of(name, is_local=is_local)
    assert (price is not None) is known
    if name in ("local/qwen2.5-1.5b",):
        assert price == FREE


def test_the_price_list_is_read_without_importing_litellm() -> None:
    assert price_list_path() is not None
    code = "import sys; from osmosis_local.prices import price_of; assert price_of('gpt-4o-mini'); " \
           "print('litellm' in sys.modules)"  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_cost_of_each_model_is_in_the_results_and_the_console(
    policy, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    argv = eval_argv(policy.base_url, tmp_path, "--baseline-model", "my-finetune-v3", "--baseline-base-url",
                     policy.base_url, model="gpt-4o-mini", limit=3, quiet=False)  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    result = json.loads((tmp_path / "out.json").read_text())
    cost = {c["role"]: c for c in result["summary"]["cost"]}
    price = price_of("gpt-4o-mini")
    assert price is not None
    policy_cost = cost["policy"]
    expected = price.cost(policy_cost["prompt_tokens"], policy_cost["completion_tokens"])
    assert policy_cost["usd"] == pytest.approx(expected) and policy_cost["usd"] > 0
    assert policy_cost["prompt_tokens"] == sum(
        r["token_usage"]["prompt_tokens"] for r in jsonl(tmp_path / "runs.jsonl")[1:] if r["model_tag"] == "primary"
    )
    assert cost["baseline"]["usd"] is None and cost["baseline"]["price_source"] is None  # n/a, never a guess
    assert result["summary"]["total_cost_usd"] == pytest.approx(policy_cost["usd"])
    assert "my-finetune-v3 baseline n/a" in out and "no price known for my-finetune-v3" in out


def test_max_cost_stops_cleanly_and_resume_continues(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    price = price_of("gpt-4o-mini")
    assert price is not None
    one_run = 300 * price.input_per_token  # a run of the scripted policy costs a few hundred prompt tokens
    argv = eval_argv(policy.base_url, tmp_path, "--max-cost", f"{one_run * 3:.10f}", model="gpt-4o-mini", limit=12)
    assert main(argv) == 1
    result = json.loads((tmp_path / "out.json").read_text())
    summary = result["summary"]
    assert summary["stopped_early"] is True and summary["stop_reason"].startswith("--max-cost $")
    assert 1 <= summary["total_runs"] < 12
    assert summary["total_cost_usd"] <= one_run * 3 * 1.5  # no run started once the next would likely pass it
    assert "higher --max-cost" in summary["problems"][0] and "--resume" in summary["problems"][0]
    logged = jsonl(tmp_path / "runs.jsonl")[1:]
    assert len(logged) == summary["total_runs"]  # every run it paid for is in the log
    resumed = eval_argv(policy.base_url, tmp_path, "--max-cost", "1", model="gpt-4o-mini", limit=12, output="all")
    resumed = [a for a in resumed if a not in ("--log", str(tmp_path / "runs.jsonl"))]
    assert main([*resumed, "--resume", str(tmp_path / "runs.jsonl")]) == 0
    done = json.loads((tmp_path / "all.json").read_text())["summary"]
    assert done["total_runs"] == 12 and done["stopped_early"] is False


def test_max_cost_needs_a_price_for_every_model(policy, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        main(eval_argv(policy.base_url, tmp_path, "--max-cost", "1", model="my-finetune-v3"))
    assert info.value.code == 2
    assert "--max-cost needs the price of every model, and none is known for my-finetune-v3" in capsys.readouterr().err
