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
from typing import TYPE_CHECKING, Protocol

from osmosis_local.llm.base import ModelReply
from osmosis_local.llm.chat_model import ChatModel
from osmosis_local.llm.retry import LLMCallError
from osmosis_local.log.records import ToolCallRecord
from osmosis_local.safe_text import safe_str
from osmosis_local.types import (
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
    content_text,
)

if TYPE_CHECKING:  # pragma: no cover
    from osmosis_local.tools.runner import ToolCallOutcome

logger = logging.getLogger(__name__)


class ToolCaller(Protocol):
    """What the loop needs from the tool side: run one call, never raise for tool problems."""

    async def call(self, name: str, arguments_json: str | None, *, call_id: str) -> ToolCallOutcome: ...


@dataclass
class RolloutOutcome:
    """Everything one rollout produced; `success` means the loop finished without an exception."""

    messages: list[Message]
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    num_llm_calls: int = 0
    duration_ms: float = 0.0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    error: str | None = None
    systemic: bool = False
    reward: float | None = None  # an agent loop's own reward (Remote Rollout), beside the eval functions' scores

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
            content = message.get("content") if message.get("role") == "assistant" else None
            if content is not None:
                return content_text(content) if isinstance(content, list) else safe_str(content)
        return ""


# Called after each LLM turn (interactive mode); returning False aborts the rollout.
StepHook = Callable[[int, ModelReply, list[Message]], Awaitable[bool]]
# Called after the tools of a turn ran (interactive mode shows the results).
ToolsHook = Callable[[list[ToolCallRecord]], Awaitable[None]]


def initial_messages(system_prompt: str, user_prompt: str) -> list[Message]:
    """The raw row strings, system then user."""
    system: SystemMessage = {"role": "system", "content": system_prompt}
    user: UserMessage = {"role": "user", "content": user_prompt}
    return [system, user]


async def run_rollout(
    *,
    system_prompt: str,
    user_prompt: str,
    model: ChatModel,
    tools: list[ToolSpec],
    tool_caller: ToolCaller,
    max_turns: int,
    seed: int | None = None,
    on_step: StepHook | None = None,
    on_tools: ToolsHook | None = None,
) -> RolloutOutcome:
    """Run one rollout; never raises for model or tool failures (they land in ``error``)."""
    if max_turns < 1:
        raise ValueError("max_turns must be at least 1")
    started = time.perf_counter()
    result = RolloutOutcome(messages=initial_messages(system_prompt, user_prompt), finish_reason="max_turns")
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
            calls = reply.tool_calls
            if not calls:
                result.finish_reason = "length" if reply.finish_reason == "length" else "stop"
                break
            records = [await _run_tool_call(call, tool_caller) for call in calls]
            result.tool_calls.extend(records)
            result.messages.extend(_tool_message(r) for r in records)
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


def _tool_message(record: ToolCallRecord) -> ToolMessage:
    return {"role": "tool", "content": record.content, "tool_call_id": record.call_id}


async def _run_tool_call(call: ToolCall, tool_caller: ToolCaller) -> ToolCallRecord:
    function = call["function"]
    call_id = call.get("id") or f"call_{uuid.uuid4().hex[:10]}"
    call["id"] = call_id
    name = function["name"]
    arguments = function["arguments"]
    outcome = await tool_caller.call(name, arguments, call_id=call_id)
    return ToolCallRecord(
        call_id=call_id,
        name=name,
        arguments=arguments,
        content=outcome.content,
        is_error=outcome.is_error,
        duration_ms=outcome.duration_ms,
    )
