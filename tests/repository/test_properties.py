"""Property-based tests (hypothesis): whatever a model, a user or a file throws at them, the tools, the tool
runner, the reward and the dataset loader answer with a result or a clear error, and keep working.

The tools are called through a real `fastmcp.Client` (in-memory, and over streamable HTTP against
``python mcp/main.py``) and through the runner's in-process path.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import fastmcp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_servers import load_tool_server, serve_tool_server

from osmosis_local.content.dataset import DatasetError, load_dataset
from osmosis_local.tools.runner import MAX_ERROR_CHARS, ToolRunner

TOOL_PARAMS = {
    "add": ("a", "b"), "subtract": ("a", "b"), "multiply": ("a", "b"), "divide": ("a", "b"),
    "power": ("base", "exponent"), "square_root": ("x",), "modulo": ("a", "b"), "round_number": ("x", "decimals"),
}  # fmt: skip
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
tool_calls = st.sampled_from(sorted(TOOL_PARAMS)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.fixed_dictionaries({p: json_values | st.integers(-(10**30), 10**30) for p in TOOL_PARAMS[name]}),
    )
)


def _check(result: Any) -> None:
    """A tool answer: a JSON number, or an error text the model can read."""
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    if result.is_error:
        assert texts and texts[0].strip() and "Traceback" not in texts[0]
    else:
        value = json.loads(texts[0])
        assert isinstance(value, int | float) and not isinstance(value, bool)
        assert isinstance(value, int) or math.isfinite(value)  # whole results are exact ints of any size


@pytest.fixture(scope="module")
def http_server():
    with serve_tool_server() as server:
        yield server


@FEW
@given(calls=st.lists(tool_calls, min_size=1, max_size=4))
def test_any_json_arguments_through_an_in_memory_client_give_an_answer_and_the_next_call_works(calls) -> None:
    async def run() -> None:
        async with fastmcp.Client(load_tool_server()) as client:
            for name, arguments in calls:
                _check(await client.call_tool(name, arguments, raise_on_error=False))
            assert (await client.call_tool("add", {"a": 1, "b": 2})).data == 3

    asyncio.run(run())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(tool_calls, min_size=1, max_size=3))
def test_any_json_arguments_over_http_give_an_answer_and_the_server_keeps_serving(http_server, calls) -> None:
    async def run() -> None:
        async with fastmcp.Client(http_server.mcp_url) as client:
            for name, arguments in calls:
                _check(await client.call_tool(name, arguments, raise_on_error=False))
            assert (await client.call_tool("add", {"a": 1, "b": 2})).data == 3

    asyncio.run(run())


@FEW
@given(name=st.sampled_from([*TOOL_PARAMS, "nope", ""]) | st.text(max_size=200), raw=st.text(max_size=400)
       | st.builds(json.dumps, json_values))  # fmt: skip
def test_the_tool_runner_turns_any_model_arguments_into_a_result_or_an_error(name: str, raw: str) -> None:
    async def run() -> None:
        async with ToolRunner(load_tool_server(), timeout_s=5) as runner:
            outcome = await runner.call(name, raw, call_id="c0")
            assert isinstance(outcome.content, str)
            if outcome.is_error:
                assert outcome.content.startswith("Error:") and len(outcome.content) <= MAX_ERROR_CHARS + 40
            again = await runner.call("add", '{"a": 2, "b": 2}', call_id="c1")
            assert again.content == "4"

    asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(answer=st.text(max_size=300), truth=st.text(max_size=30))
def test_the_reward_never_raises_and_always_returns_a_float(answer: str, truth: str) -> None:
    from reward_fn.compute_reward import numbers_match_reward

    for solution in (answer, f"#### {answer}", f"{answer}\n#### {truth}"):
        score = numbers_match_reward(solution, truth, {})
        assert isinstance(score, float) and 0.0 <= score <= 1.0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600) | st.text(max_size=400).map(str.encode), suffix=st.sampled_from(
    [".jsonl", ".json", ".csv", ".parquet"]))  # fmt: skip
def test_the_dataset_loader_gives_rows_or_a_clear_error_for_any_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"rows{suffix}"
    path.write_bytes(data)
    try:
        rows = load_dataset(path)
    except DatasetError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)
    else:
        assert rows and all(row.user_prompt.strip() for row in rows)
