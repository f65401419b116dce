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


@dataclass(frozen=True)
class ModelTally:
    """Judge tokens of one judge model (for its cost: the price is per model)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    is_local: bool = False


_lock = threading.Lock()
_usage = JudgeUsage()
_by_model: dict[str, ModelTally] = {}


def record_call(prompt_tokens: int, completion_tokens: int, model: str = "", *, is_local: bool = False) -> None:
    """One judge request: its tokens, counted in all and under ``model`` (the name its price is looked up by)."""
    with _lock:
        _usage.calls += 1
        _usage.prompt_tokens += prompt_tokens
        _usage.completion_tokens += completion_tokens
        if model:
            old = _by_model.get(model, ModelTally(is_local=is_local))
            _by_model[model] = ModelTally(old.prompt_tokens + prompt_tokens, old.completion_tokens + completion_tokens,
                                          is_local)  # fmt: skip


def judge_tokens_by_model() -> dict[str, ModelTally]:
    """Snapshot of the judge tokens per judge model since start/reset."""
    with _lock:
        return dict(_by_model)


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
        _by_model.clear()


def judge_tokens_since(before: dict[str, ModelTally]) -> dict[str, ModelTally]:
    """The judge tokens per model spent since the ``before`` snapshot (models with none left out)."""
    now = judge_tokens_by_model()
    spent = {}
    for model, tally in now.items():
        old = before.get(model, ModelTally())
        delta = ModelTally(tally.prompt_tokens - old.prompt_tokens, tally.completion_tokens - old.completion_tokens,
                           tally.is_local)  # fmt: skip
        if delta.prompt_tokens or delta.completion_tokens:
            spent[model] = delta
    return spent
