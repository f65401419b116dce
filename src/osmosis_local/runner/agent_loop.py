"""The MCP agent loop: the model calls tools until it answers or runs out of turns.

The finish reason is reported truly (``stop``, ``length`` when the model was cut off, ``max_turns`` when
it was still calling tools, ``aborted``, ``error``), token usage survives a failed rollout, and every tool
call is timed and recorded for the transcript. See docs/contract.md §5 for the SDK's loop.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from osmosis_local.llm.llm_call import LLMCallError
from osmosis_local.log.records import ToolCallRecord

logger = logging.getLogger(__name__)


class ChatModel(Protocol):
    """What the loop needs from a model: one chat turn."""

    async def chat(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, seed: int | None = None
    ) -> ChatTurn: ...


class ToolCaller(Protocol):
    """What the loop needs from the tool side: run one call, never raise for tool problems."""

    async def call(self, name: str, arguments: Any, *, call_id: str) -> Any: ...


@dataclass
class ChatTurn:
    """One assistant reply, normalised to a plain OpenAI message dict."""

    message: dict[str, Any]
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class RolloutResult:
    """Everything one rollout produced; `success` means the loop finished without an exception."""

    messages: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    num_llm_calls: int = 0
    duration_ms: float = 0.0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    error: str | None = None
    systemic: bool = False

    @property
    def success(self) -> bool:
        return self.error is None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def solution_str(self) -> str:
        """``str()`` of the last assistant content that is not None, else ``""`` (what simple eval fns score)."""
        for message in reversed(self.messages):
            if message.get("role") == "assistant" and message.get("content") is not None:
                return str(message["content"])
        return ""



# Called after each LLM turn (interactive mode); returning False aborts the rollout.
StepHook = Callable[[int, ChatTurn, list[dict[str, Any]]], Awaitable[bool]]
# Called after the tools of a turn ran (interactive mode shows the results).
ToolsHook = Callable[[list[ToolCallRecord]], Awaitable[None]]


def initial_messages(system_prompt: str, user_prompt: str) -> list[dict[str, Any]]:
    """The raw row strings, system then user."""
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]


async def run_rollout(
    *,
    system_prompt: str,
    user_prompt: str,
    model: ChatModel,
    tools: list[dict[str, Any]],
    tool_caller: ToolCaller,
    max_turns: int,
    seed: int | None = None,
    on_step: StepHook | None = None,
    on_tools: ToolsHook | None = None,
) -> RolloutResult:
    """Run one rollout; never raises for model or tool failures (they land in ``error``)."""
    if max_turns < 1:
        raise ValueError("max_turns must be at least 1")
    started = time.perf_counter()
    result = RolloutResult(messages=initial_messages(system_prompt, user_prompt), finish_reason="max_turns")
    try:
        for turn in range(1, max_turns + 1):
            reply = await model.chat(result.messages, tools, seed=seed)
            result.num_llm_calls += 1
            result.prompt_tokens += reply.prompt_tokens
            result.completion_tokens += reply.completion_tokens
            result.messages.append(reply.message)
            if on_step is not None and not await on_step(turn, reply, result.messages):
                result.finish_reason = "aborted"
                result.error = "Aborted by user"
                break
            calls = reply.message.get("tool_calls") or []
            if not calls:
                result.finish_reason = "length" if reply.finish_reason == "length" else "stop"
                break
            records = []
            for call in calls:
                records.append(await _run_tool_call(call, tool_caller))
            result.tool_calls.extend(records)
            result.messages.extend(
                {"role": "tool", "content": r.content, "tool_call_id": r.call_id} for r in records
            )
            if on_tools is not None:
                await on_tools(records)
    except LLMCallError as exc:
        result.finish_reason = "error"
        result.error = exc.message
        result.systemic = exc.systemic
    except Exception as exc:  # noqa: BLE001 - a broken rollout is one failed row, never a crashed run
        logger.debug("rollout failed", exc_info=True)  # --debug shows the traceback
        result.finish_reason = "error"
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


async def _run_tool_call(call: dict[str, Any], tool_caller: ToolCaller) -> ToolCallRecord:
    function = call.get("function") or {}
    call_id = call.get("id") or f"call_{uuid.uuid4().hex[:10]}"
    call["id"] = call_id
    name = str(function.get("name") or "")
    arguments = function.get("arguments")
    outcome = await tool_caller.call(name, arguments if arguments is not None else "{}", call_id=call_id)
    return ToolCallRecord(
        call_id=call_id,
        name=name,
        arguments=arguments,
        content=str(outcome.content),
        is_error=bool(outcome.is_error),
        duration_ms=float(getattr(outcome, "duration_ms", 0.0) or 0.0),
    )
