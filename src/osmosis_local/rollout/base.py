"""The agent-loop API of Remote Rollout, with the SDK 0.2.17's public names (`osmosis_ai.rollout`).

A loop subclasses `RolloutAgentLoop` (a class attribute ``name``, ``get_tools(request)`` and ``async
run(ctx)``) and talks to the model only through its `RolloutContext`: ``await ctx.chat(messages, **params)``
gives a `CompletionsResult`; ``ctx.complete(...)`` / ``ctx.error(...)`` make the `RolloutResult` it returns;
``ctx.record_tool_call(latency_ms)`` and ``ctx.log_event(event, **data)`` feed the metrics and the debug log.
Who answers ``ctx.chat`` is a `RolloutLLM`: the trainer over HTTP when the loop runs in a server, the policy
model directly for ``test -m`` / ``eval -m``.

Where this does better than the reference (docs/contract.md §12, weak spots 1 and 3): the context remembers the
latest history it saw (`RolloutContext.partial_messages`), so a loop that raises still hands the trainer the
transcript so far; and ``log_event`` writes under a file name made from the rollout id that can never leave the
debug folder.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from osmosis_local.rollout.schemas import MessageDict, OpenAIFunctionToolSchema, RolloutMetrics, RolloutRequest

logger = logging.getLogger(__name__)

__all__ = [
    "CompletionsResult",
    "LLMMetrics",
    "RolloutAgentLoop",
    "RolloutContext",
    "RolloutLLM",
    "RolloutResult",
    "debug_file_name",
]


@dataclass(frozen=True)
class CompletionsResult:
    """One LLM turn's answer: the assistant message (with any ``tool_calls``) and what training needs."""

    message: dict[str, Any]
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str = "stop"

    @property
    def has_tool_calls(self) -> bool:
        return bool(self.message.get("tool_calls"))

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        calls = self.message.get("tool_calls")
        return list(calls) if isinstance(calls, list) else []

    @property
    def content(self) -> str | None:
        content = self.message.get("content")
        return content if isinstance(content, str) or content is None else str(content)


@dataclass
class LLMMetrics:
    """What the turns of one rollout cost."""

    llm_latency_ms: float = 0.0
    num_llm_calls: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    max_context_tokens: int = 0

    def add(self, latency_ms: float, usage: dict[str, Any]) -> None:
        prompt = int(usage.get("prompt_tokens") or 0)
        self.llm_latency_ms += latency_ms
        self.num_llm_calls += 1
        self.prompt_tokens += prompt
        self.response_tokens += int(usage.get("completion_tokens") or 0)
        self.max_context_tokens = max(self.max_context_tokens, prompt + int(usage.get("completion_tokens") or 0))


class RolloutLLM(Protocol):
    """Who answers ``ctx.chat``: one LLM turn on the whole history, and what the turns cost so far."""

    async def chat_completions(self, messages: list[MessageDict], **params: Any) -> CompletionsResult: ...

    def get_metrics(self) -> LLMMetrics: ...


@dataclass
class RolloutResult:
    """What ``run`` returns: ``COMPLETED`` or ``ERROR``, the final messages, why it ended, and an optional reward."""

    status: str
    final_messages: list[MessageDict]
    finish_reason: str
    error_message: str | None = None
    metrics: RolloutMetrics | None = None
    reward: float | None = None


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def debug_file_name(rollout_id: str) -> str:
    """A file name for a rollout's debug log that stays inside its folder whatever the id holds.

    Letters, digits, ``_``, ``-`` and ``.`` are kept; anything else (``/``, ``..`` as a whole, control
    characters) is replaced and a short hash of the exact id is added, so two ids never share a file.
    """
    safe = _UNSAFE.sub("_", rollout_id)[:120].lstrip(".")
    if safe != rollout_id or not safe:
        safe = f"{safe or 'rollout'}-{hashlib.sha256(rollout_id.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
    return f"{safe}.jsonl"


class RolloutContext:
    """What a loop's ``run`` gets: the request, its tools, the LLM, and the helpers that build its result."""

    def __init__(
        self,
        request: RolloutRequest,
        tools: list[OpenAIFunctionToolSchema],
        llm: RolloutLLM,
        *,
        debug_dir: str | Path | None = None,
    ) -> None:
        self.request = request
        self.tools = tools
        self.llm = llm
        self._debug_dir = Path(debug_dir) if debug_dir is not None else None
        self._start = time.monotonic()
        self._tool_latency_ms = 0.0
        self._num_tool_calls = 0
        self._seen: list[MessageDict] = list(request.messages)

    @property
    def partial_messages(self) -> list[MessageDict]:
        """The latest history this context saw: the last messages sent to ``chat`` and the reply to them."""
        return list(self._seen)

    async def chat(self, messages: list[MessageDict], **params: Any) -> CompletionsResult:
        """One LLM turn on the whole history (append-only: earlier messages must not change)."""
        self._seen = list(messages)
        result = await self.llm.chat_completions(messages, **params)
        self._seen.append(result.message)
        return result

    def complete(
        self, final_messages: list[MessageDict], finish_reason: str = "stop", reward: float | None = None
    ) -> RolloutResult:
        """The result of a rollout that finished (``reward``: a precomputed score for the trajectory)."""
        return RolloutResult("COMPLETED", list(final_messages), finish_reason, metrics=self.metrics(), reward=reward)

    def error(self, error_message: str, final_messages: list[MessageDict] | None = None) -> RolloutResult:
        """The result of a rollout that failed; without ``final_messages`` the history so far is kept."""
        messages = list(final_messages) if final_messages is not None else self.partial_messages
        return RolloutResult("ERROR", messages, "error", error_message=error_message, metrics=self.metrics())

    def record_tool_call(self, latency_ms: float = 0.0) -> None:
        """Count one tool call and its time in the metrics."""
        self._num_tool_calls += 1
        self._tool_latency_ms += latency_ms

    @property
    def debug_enabled(self) -> bool:
        return self._debug_dir is not None

    def log_event(self, event: str, **data: Any) -> None:
        """Append ``{"event", "rollout_id", **data}`` to the rollout's debug log (a no-op without a debug folder)."""
        if self._debug_dir is None:
            return
        path = self._debug_dir / debug_file_name(self.request.rollout_id)
        entry = {"event": event, "rollout_id": self.request.rollout_id, **data}
        try:
            self._debug_dir.mkdir(parents=True, exist_ok=True)
            line = json.dumps(entry, default=str, ensure_ascii=False)
            with path.open("a", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(line + "\n")
        except (OSError, ValueError) as exc:
            logger.warning("debug event %s of rollout %r not written: %s", event, self.request.rollout_id[:80], exc)

    def metrics(self) -> RolloutMetrics:
        """The rollout's metrics so far (time, tokens, calls)."""
        llm = self.llm.get_metrics()
        return RolloutMetrics(
            total_latency_ms=(time.monotonic() - self._start) * 1000,
            llm_latency_ms=llm.llm_latency_ms,
            tool_latency_ms=self._tool_latency_ms,
            num_llm_calls=llm.num_llm_calls,
            num_tool_calls=self._num_tool_calls,
            prompt_tokens=llm.prompt_tokens,
            response_tokens=llm.response_tokens,
            max_context_tokens=llm.max_context_tokens,
        )


class RolloutAgentLoop(abc.ABC):
    """An agent: ``name`` (a class attribute), the tools of a rollout, and the loop that runs it.

    A concrete subclass without a ``name`` is a `TypeError` when it is defined, as in the SDK.
    """

    name: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        abstract = {n for n, v in vars(cls).items() if getattr(v, "__isabstractmethod__", False)}
        for base in cls.__mro__[1:]:
            for n in getattr(base, "__abstractmethods__", ()):
                if not getattr(getattr(cls, n, None), "__isabstractmethod__", False):
                    continue
                abstract.add(n)
        if not abstract and not getattr(cls, "name", None):
            raise TypeError(f"Agent loop class {cls.__name__} must define a 'name' class attribute")

    @abc.abstractmethod
    def get_tools(self, request: RolloutRequest) -> list[OpenAIFunctionToolSchema]:
        """The tools this rollout may use (sent to the trainer in the init's 202)."""

    @abc.abstractmethod
    async def run(self, ctx: RolloutContext) -> RolloutResult:
        """Run the rollout: ``ctx.chat`` for each turn, then ``return ctx.complete(...)`` or ``ctx.error(...)``."""
