"""``test -m`` / ``eval -m``: a `RolloutAgentLoop` run in this process, its turns answered by the policy model.

Each row becomes the `RolloutRequest` a trainer would send (`rollout_request`); ``ctx.chat`` calls the run's
model directly (`PolicyLLM`) with the tools the loop's ``get_tools`` returned, and the result is scored like
any rollout. As with the server, a loop that raises or times out keeps the transcript so far, and its error
is the run's error (an LLM failure keeps its systemic verdict). Interactive mode steps through the turns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from osmosis_local.config.settings import RunConfig
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.llm.chat_model import ChatModel
from osmosis_local.llm.retry import LLMCallError
from osmosis_local.log.records import ToolCallRecord
from osmosis_local.rollout.base import CompletionsResult, LLMMetrics, RolloutAgentLoop, RolloutContext
from osmosis_local.rollout.schemas import MessageDict, OpenAIFunctionToolSchema
from osmosis_local.rollout.tool_shapes import widen_tool
from osmosis_local.runner.agent_loop import RolloutOutcome, StepHook, ToolsHook
from osmosis_local.runner.drivers import Command, as_messages, outcome_of_result, rollout_request
from osmosis_local.types import SamplingParams, ToolSpec

IN_PROCESS_URL = "http://in-process.invalid"  # the requests' server_url: nothing is called back here


class AbortedByUser(Exception):
    """Interactive mode: the person quit the row."""


def _tool(tool: Any) -> OpenAIFunctionToolSchema:
    if isinstance(tool, OpenAIFunctionToolSchema):
        return tool
    return OpenAIFunctionToolSchema.model_validate(tool.model_dump() if hasattr(tool, "model_dump") else tool)


def sampling_params(params: dict[str, Any]) -> SamplingParams:
    """The sampling parameters among ``ctx.chat``'s keywords (others, e.g. ``stop`` or ``logprobs``, are the
    trainer's business)."""
    out: SamplingParams = {}
    if isinstance(params.get("temperature"), int | float):
        out["temperature"] = float(params["temperature"])
    if isinstance(params.get("top_p"), int | float):
        out["top_p"] = float(params["top_p"])
    if isinstance(params.get("max_tokens"), int):
        out["max_tokens"] = params["max_tokens"]
    return out


class PolicyLLM:
    """`RolloutLLM` for a loop run here: the run's model answers each turn, with the rollout's tools."""

    def __init__(self, model: ChatModel, tools: list[ToolSpec], *, seed: int | None, on_step: StepHook | None,
                 on_tools: ToolsHook | None) -> None:  # fmt: skip
        self.model = model
        self.tools = tools
        self.seed = seed
        self.on_step = on_step
        self.on_tools = on_tools
        self.error: LLMCallError | None = None
        self._metrics = LLMMetrics()
        self._answered = 0  # messages of the history already answered (for the tool results interactive mode shows)

    async def chat_completions(self, messages: list[MessageDict], **params: Any) -> CompletionsResult:
        if self.on_tools is not None and self._answered:
            fresh = [m for m in messages[self._answered :] if isinstance(m, dict) and m.get("role") == "tool"]
            if fresh:
                await self.on_tools(_tool_results(messages[: self._answered], fresh))
        started = time.perf_counter()
        try:
            reply = await self.model.chat(as_messages(messages), self.tools, seed=self.seed,
                                          params=sampling_params(params))  # fmt: skip
        except LLMCallError as exc:
            self.error = self.error or exc
            raise
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                 "total_tokens": reply.prompt_tokens + reply.completion_tokens}  # fmt: skip
        self._metrics.add((time.perf_counter() - started) * 1000, usage)
        history = [*as_messages(messages), reply.message]
        self._answered = len(history)
        if self.on_step is not None and not await self.on_step(self._metrics.num_llm_calls, reply, history):
            raise AbortedByUser
        return CompletionsResult(message=dict(reply.message), usage=usage, finish_reason=reply.finish_reason or "stop")

    def get_metrics(self) -> LLMMetrics:
        return self._metrics


def _tool_results(before: list[MessageDict], fresh: list[MessageDict]) -> list[ToolCallRecord]:
    names = {
        call.get("id"): (call.get("function") or {}).get("name", "")
        for m in before if isinstance(m, dict) for call in (m.get("tool_calls") or []) if isinstance(call, dict)
    }  # fmt: skip
    return [
        ToolCallRecord(call_id=str(m.get("tool_call_id") or ""), name=str(names.get(m.get("tool_call_id"), "") or ""),
                       arguments=None, content=str(m.get("content", "")),
                       is_error=str(m.get("content", "")).startswith("Error"), duration_ms=0.0)  # fmt: skip
        for m in fresh
    ]


class AgentLoopDriver:
    """`RolloutDriver` of ``-m MOD:ATTR``."""

    def __init__(self, loop: RolloutAgentLoop, config: RunConfig, tools: list[ToolSpec]) -> None:
        self.loop = loop
        self.config = config
        self.tools = tools
        self.warnings: list[str] = []
        self.timeout_s = config.rollout_deadline

    async def run(
        self,
        row: DatasetRow,
        *,
        model: ChatModel,
        tag: str,
        seed: int | None,
        run_index: int,
        command: Command,
        on_step: StepHook | None = None,
        on_tools: ToolsHook | None = None,
    ) -> RolloutOutcome:
        started = time.perf_counter()

        def failed(error: str, messages: list[Any], llm: PolicyLLM | None = None, finish: str = "error",
                   systemic: bool = False) -> RolloutOutcome:  # fmt: skip
            metrics = llm.get_metrics() if llm is not None else LLMMetrics()
            outcome = outcome_of_result(
                messages, status="ERROR", finish_reason="error", error=error, reward=None,
                prompt_tokens=metrics.prompt_tokens, completion_tokens=metrics.response_tokens,
                num_llm_calls=metrics.num_llm_calls, duration_ms=(time.perf_counter() - started) * 1000,
                systemic=systemic,
            )  # fmt: skip
            outcome.finish_reason = finish
            return outcome

        initial = [{"role": "system", "content": row.system_prompt}, {"role": "user", "content": row.user_prompt}]
        try:
            request = rollout_request(row, self.config, command=command, run_index=run_index, tag=tag,
                                      server_url=IN_PROCESS_URL)  # fmt: skip
        except ValueError as exc:
            return failed(f"the row cannot be sent to the agent loop: {' '.join(str(exc).split())[:500]}", initial)
        try:
            tools = [_tool(t) for t in self.loop.get_tools(request)]
        except Exception as exc:  # noqa: BLE001 - the loop's own code
            return failed(f"get_tools raised {type(exc).__name__}: {exc}", initial)
        llm = PolicyLLM(model, [widen_tool(t) for t in tools], seed=seed, on_step=on_step, on_tools=on_tools)
        ctx = RolloutContext(request, tools, llm)
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await self.loop.run(ctx)
        except AbortedByUser:
            return failed("Aborted by user", ctx.partial_messages, llm, finish="aborted")
        except TimeoutError:
            return failed(f"the agent loop ran past the rollout deadline of {self.timeout_s:g} s",
                          ctx.partial_messages, llm)  # fmt: skip
        except LLMCallError as exc:
            return failed(exc.message, ctx.partial_messages, llm, systemic=exc.systemic)
        except Exception as exc:  # noqa: BLE001 - a broken loop is one failed row, never a crashed run
            return failed(f"the agent loop raised {type(exc).__name__}: {exc}", ctx.partial_messages, llm)
        status = getattr(getattr(result, "status", None), "value", getattr(result, "status", None))
        messages = getattr(result, "final_messages", None)
        if status not in ("COMPLETED", "ERROR") or not isinstance(messages, list):
            return failed(f"run() returned {type(result).__name__}, not a RolloutResult (end it with "
                          "`return ctx.complete(messages)`)", ctx.partial_messages, llm)  # fmt: skip
        metrics = llm.get_metrics()
        error = getattr(result, "error_message", None) if status == "ERROR" else None
        systemic = llm.error is not None and llm.error.systemic
        if status == "ERROR" and llm.error is not None and not error:
            error = llm.error.message
        return outcome_of_result(
            messages, status=status, finish_reason=getattr(result, "finish_reason", None), error=error,
            reward=_reward(getattr(result, "reward", None)), prompt_tokens=metrics.prompt_tokens,
            completion_tokens=metrics.response_tokens, num_llm_calls=metrics.num_llm_calls,
            duration_ms=(time.perf_counter() - started) * 1000, systemic=systemic,
        )  # fmt: skip


def _reward(value: Any) -> float | None:
    if value is None:
        return None
    try:
        reward = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return reward if reward == reward and abs(reward) != float("inf") else None
