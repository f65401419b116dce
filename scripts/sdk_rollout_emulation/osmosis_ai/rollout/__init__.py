"""Stand-in for ``osmosis_ai.rollout`` (SDK 0.2.17): the names ``rollout_server/server.py`` imports.

`RolloutContext` and `RolloutResult` follow the SDK's ``core/base.py``; `create_app` only records the loop (the
test drives the loop directly; the wire is tested against our own server).
"""

from dataclasses import dataclass, field


@dataclass
class RolloutResult:
    status: str
    final_messages: list
    finish_reason: str
    error_message: str = None
    metrics: object = None
    reward: float = None


@dataclass
class RolloutContext:
    request: object
    tools: list
    llm: object
    _tool_latency_ms: float = field(default=0.0, repr=False)
    _num_tool_calls: int = field(default=0, repr=False)

    async def chat(self, messages, **kwargs):
        return await self.llm.chat_completions(messages, **kwargs)

    def complete(self, final_messages, finish_reason="stop", reward=None):
        return RolloutResult("COMPLETED", final_messages, finish_reason, reward=reward)

    def error(self, error_message, final_messages=None):
        return RolloutResult("ERROR", final_messages or [], "error", error_message=error_message)

    def record_tool_call(self, latency_ms=0.0):
        self._num_tool_calls += 1
        self._tool_latency_ms += latency_ms

    def log_event(self, event_type, **data):
        return None


class RolloutAgentLoop:
    name = None


def create_app(agent_loop, **kwargs):
    return {"agent_loop": agent_loop, "options": kwargs}
