"""The agent-loop API (the SDK 0.2.17's names): the class contract, the context, safe debug logs, the narrow tool
shape, loading and validating a loop."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from osmosis_local.rollout import (
    CompletionsResult,
    OpenAIFunctionSchema,
    OpenAIFunctionToolSchema,
    RolloutAgentLoop,
    RolloutContext,
    RolloutRequest,
    RolloutResult,
)
from osmosis_local.rollout.base import LLMMetrics, debug_file_name
from osmosis_local.rollout.loading import AgentLoopLoadError, load_agent_loop, validate_agent_loop
from osmosis_local.rollout.tool_shapes import narrow_tool, widen_tool

REQUEST = RolloutRequest(
    rollout_id="r-1", server_url="http://127.0.0.1:9/", messages=[{"role": "user", "content": "hi"}]
)
TOOL = OpenAIFunctionToolSchema(type="function", function=OpenAIFunctionSchema(name="add", description="Add."))


class EchoLLM:
    """An LLM that answers every turn with a fixed message (no HTTP: the context's own logic is under test)."""

    def __init__(self) -> None:
        self.metrics = LLMMetrics()

    async def chat_completions(self, messages: list[dict[str, Any]], **params: Any) -> CompletionsResult:
        self.metrics.add(1.0, {"prompt_tokens": 3, "completion_tokens": 2})
        return CompletionsResult(message={"role": "assistant", "content": f"seen {len(messages)}"})

    def get_metrics(self) -> LLMMetrics:
        return self.metrics


def test_a_concrete_loop_without_a_name_is_a_type_error_and_an_abstract_one_is_not() -> None:
    with pytest.raises(TypeError, match="must define a 'name'"):

        class Nameless(RolloutAgentLoop):
            def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
                return []

            async def run(self, ctx: RolloutContext) -> RolloutResult:
                return ctx.complete([])

    class StillAbstract(RolloutAgentLoop):  # no run: abstract, so no name needed yet
        def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
            return []

    class Named(StillAbstract):
        name = "named"

        async def run(self, ctx: RolloutContext) -> RolloutResult:
            return ctx.complete(list(ctx.request.messages))

    assert Named().name == "named"


def test_the_context_keeps_the_transcript_so_far_and_builds_results_with_metrics() -> None:
    ctx = RolloutContext(REQUEST, [TOOL], EchoLLM())
    history = list(REQUEST.messages)
    reply = asyncio.run(ctx.chat(history, temperature=0.5))
    assert reply.content == "seen 1" and not reply.has_tool_calls and reply.tool_calls == []
    assert ctx.partial_messages == [*history, reply.message]
    ctx.record_tool_call(latency_ms=7.0)
    done = ctx.complete([*history, reply.message], reward=0.5)
    assert (done.status, done.finish_reason, done.reward) == ("COMPLETED", "stop", 0.5)
    assert done.metrics is not None and (done.metrics.num_llm_calls, done.metrics.num_tool_calls) == (1, 1)
    assert (done.metrics.prompt_tokens, done.metrics.response_tokens, done.metrics.tool_latency_ms) == (3, 2, 7.0)
    failed = ctx.error("tool broke")  # without final_messages: the transcript so far, not []
    assert failed.status == "ERROR" and failed.final_messages == ctx.partial_messages and failed.error_message


HOSTILE_IDS = ["../../escape", "a/b/c", "..", ".", ".hidden", "x" * 256, "nul\x00byte", "tab\tand\nnewline",
               "ünïcödé", "\ud800half", "C:\\windows\\path", "/abs/olute"]  # fmt: skip


@pytest.mark.parametrize("rollout_id", HOSTILE_IDS)
def test_a_rollout_id_never_leaves_the_debug_folder(tmp_path: Path, rollout_id: str) -> None:
    debug = tmp_path / "logs" / "123"
    request = RolloutRequest.model_construct(rollout_id=rollout_id, server_url="http://x", messages=[], metadata={})
    RolloutContext(request, [], EchoLLM(), debug_dir=debug).log_event("pre_llm", turn=0, note="x")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].parent == debug, files
    entry = json.loads(files[0].read_text(encoding="utf-8"))
    assert entry["event"] == "pre_llm" and entry["turn"] == 0


def test_distinct_ids_get_distinct_files_and_a_plain_id_keeps_its_name() -> None:
    names = {debug_file_name(i) for i in HOSTILE_IDS + ["a_b", "a/b", "a:b"]}
    assert len(names) == len(HOSTILE_IDS) + 3
    assert debug_file_name("eval-3-run-0") == "eval-3-run-0.jsonl"


def test_log_event_without_a_debug_folder_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    RolloutContext(REQUEST, [], EchoLLM()).log_event("pre_llm", turn=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("schema", "kept", "lost"),
    [
        ({"type": "integer", "description": "n"}, {"type": "integer", "description": "n"}, []),
        ({"type": "array", "items": {"type": "number"}}, {"type": "array"}, ["items"]),
        ({"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a", "b"]}, []),
        ({"type": "integer", "enum": [1, 2]}, {"type": "integer"}, ["enum"]),
        ({"anyOf": [{"type": "string"}, {"type": "number"}]}, {"type": "string"}, ["union"]),
        ({"type": ["number", "null"]}, {"type": "number"}, []),
        ({"type": "number", "minimum": 0, "default": 1}, {"type": "number"}, ["default, minimum"]),
        ({"type": "object", "properties": {"x": {"type": "number"}}}, {"type": "object"}, ["properties"]),
    ],
)  # fmt: skip
def test_the_narrow_shape_keeps_what_it_can_and_says_what_it_drops(
    schema: dict[str, Any], kept: dict[str, Any], lost: list[str]
) -> None:
    spec: Any = {"type": "function", "function": {"name": "f", "description": "F.", "parameters": {
        "type": "object", "properties": {"p": schema}, "required": ["p"]}}}  # fmt: skip
    tool, losses = narrow_tool(spec)
    assert tool.function.parameters.properties["p"].model_dump(exclude_none=True) == kept
    assert tool.function.parameters.required == ["p"]
    assert len(losses) == len(lost) and all(word in line for word, line in zip(lost, losses, strict=True))
    widened = widen_tool(tool)
    assert widened["function"]["parameters"]["properties"]["p"] == kept


class Loops:
    """Agent loops with one fault each, for `validate_agent_loop`."""

    class Good(RolloutAgentLoop):
        name = "good"

        def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
            return [TOOL]

        async def run(self, ctx: RolloutContext) -> RolloutResult:
            return ctx.complete([])

    class SyncRun:
        name = "sync"

        def get_tools(self, request: Any) -> list[Any]:
            return []

        def run(self, ctx: Any) -> Any:
            return None

    class NoName:
        name = ""

        def get_tools(self, request: Any) -> list[Any]:
            return []

        async def run(self, ctx: Any) -> Any:
            return None

    class ToolsRaise(Good):
        def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
            raise RuntimeError("no tools today")

    class ToolsDict(Good):
        def get_tools(self, request: RolloutRequest) -> Any:
            return {"add": TOOL}

    class BadTool(Good):
        def get_tools(self, request: RolloutRequest) -> Any:
            return [{"type": "function", "function": {"name": "f"}}]  # no description

    class NotFunction(Good):
        def get_tools(self, request: RolloutRequest) -> Any:
            return [{"type": "retrieval", "function": {"name": "f", "description": "F."}}]

    class Duplicate(Good):
        def get_tools(self, request: RolloutRequest) -> Any:
            return [TOOL, TOOL]


@pytest.mark.parametrize(
    ("loop", "codes"),
    [
        (Loops.Good(), []),
        (Loops.SyncRun(), ["RUN_NOT_ASYNC"]),
        (Loops.NoName(), ["MISSING_NAME"]),
        (Loops.ToolsRaise(), ["GET_TOOLS_FAILED"]),
        (Loops.ToolsDict(), ["INVALID_TOOLS_TYPE"]),
        (Loops.BadTool(), ["INVALID_TOOL"]),
        (Loops.NotFunction(), ["INVALID_TOOL_TYPE"]),
        (Loops.Duplicate(), ["DUPLICATE_TOOL_NAME"]),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, list) else "-",
)
def test_validate_reports_the_sdks_codes(loop: Any, codes: list[str]) -> None:
    report = validate_agent_loop(loop)
    assert [i.code for i in report.issues if i.severity == "error"] == codes
    assert report.ok is (not codes)


@pytest.fixture
def loop_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_agents.py").write_text(
        "from osmosis_local.rollout import RolloutAgentLoop\n"
        "class Agent(RolloutAgentLoop):\n"
        "    name = 'mine'\n"
        "    def get_tools(self, request):\n        return []\n"
        "    async def run(self, ctx):\n        return ctx.complete(list(ctx.request.messages))\n"
        "instance = Agent()\n"
        "not_a_loop = 42\n"
        "class Broken(Agent):\n    def __init__(self):\n        raise ValueError('needs a config file')\n"
    )
    (tmp_path / "raising_module.py").write_text("raise SystemExit('argparse in a module')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "expected MODULE:ATTRIBUTE"),
        ("missing_module:x", "no module 'missing_module'"),
        ("my_agents:nope", "has no attribute 'nope'"),
        ("my_agents:not_a_loop", "not an agent loop"),
        ("my_agents:Broken", "Broken() failed: ValueError: needs a config file"),
        ("raising_module:x", "SystemExit: argparse in a module"),
    ],
)
def test_loading_a_loop_fails_with_one_line_to_fix(loop_module: Path, spec: str, message: str) -> None:
    with pytest.raises(AgentLoopLoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_agent_loop(spec)


def test_a_class_is_instantiated_and_an_instance_taken_as_is(loop_module: Path) -> None:
    assert load_agent_loop("my_agents:Agent").name == "mine"
    assert load_agent_loop("my_agents:instance").name == "mine"
