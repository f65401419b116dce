"""Process-wide tally of judge tokens, so a runner can report what the rubric judges cost."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass
class JudgeUsage:
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


_lock = threading.Lock()
_usage = JudgeUsage()


def record_call(prompt_tokens: int, completion_tokens: int) -> None:
    with _lock:
        _usage.calls += 1
        _usage.prompt_tokens += prompt_tokens
        _usage.completion_tokens += completion_tokens


def record_cache_hit() -> None:
    with _lock:
        _usage.cache_hits += 1


def judge_usage() -> dict[str, int]:
    """Snapshot: ``{calls, cache_hits, prompt_tokens, completion_tokens, total_tokens}`` since start/reset."""
    with _lock:
        return {**asdict(_usage), "total_tokens": _usage.total_tokens}


def reset_judge_usage() -> None:
    global _usage
    with _lock:
        _usage = JudgeUsage()
