"""`tool_use_reward`: a full-mode scorer (first parameter `messages`) that rewards correct answers found with tools.

Correctness is decided exactly as in `numbers_match_reward` (shared `reward_fn/answer_parsing.py`), on the
LAST assistant message, which must be a finished answer (no pending `tool_calls`). Then:

| Outcome                                                                    | Score |
|----------------------------------------------------------------------------|-------|
| wrong, missing, hedged, or the rollout ended while still calling tools     | 0.0   |
| correct, and the answer equals the result of a successful tool call         | 1.0   |
| correct, tools succeeded, but the answer is not any tool's result           | 0.75  |
| correct without any successful tool call                                    | 0.5   |
| minus 0.1 per tool call that returned "Error: ..." (at most 0.3 in total)   |       |

Why "grounded" beats "used": a policy could learn to make one throwaway call (add(0, 0)) and then answer
from memory; requiring the final value to come out of a tool rewards actually computing with the tools.
Only the answer chain grounds: the tool result the answer equals must come from a call whose numeric arguments
include a number of the prompt or of an earlier tool result (a call with no numeric argument counts), so a
result that holds the answer by chance does not. And spraying earns nothing: with more than `SPRAY_LIMIT`
successful calls the score is at most that of an answer from memory (0.5), however grounded.
The error penalty is capped so a correct, tool-grounded answer always beats a correct answer without
tools (≥ 0.7 vs ≤ 0.5). A tool result counts only if it answers a call the assistant made (by
`tool_call_id`, when ids are present). Never raises; always returns a float.
"""

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

try:
    from osmosis_ai import osmosis_reward
except ImportError:
    from osmosis_local import osmosis_reward

from reward_fn.answer_parsing import final_answer_value, ground_truth_value, parse_number

GROUNDED_SCORE = 1.0
TOOLS_USED_SCORE = 0.75
NO_TOOLS_SCORE = 0.5
ERROR_PENALTY = 0.1
MAX_ERROR_PENALTY = 0.3
ERROR_PREFIX = "Error:"
SPRAY_LIMIT = 20  # successful tool calls beyond which a correct answer earns no more than one from memory
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MAX_NUMBERS = 10_000  # bounded work on any input


@dataclass
class ToolUse:
    """What the tools did in one rollout."""

    successes: int = 0
    errors: int = 0
    numeric_results: set = field(default_factory=set)
    chained_results: set = field(default_factory=set)  # results of calls on the answer chain


def message_text(content: object) -> str:
    """Text of an OpenAI message content: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, dict)]
        return "".join(part for part in parts if isinstance(part, str))
    return ""


def numbers_in(text: str) -> set:
    """Every plain number written in ``text`` (bounded), as exact fractions."""
    return {Fraction(m.group()) for m in itertools.islice(_NUMBER.finditer(text), _MAX_NUMBERS)}


def argument_numbers(arguments: object) -> set:
    """The numbers among a tool call's arguments (JSON text or an object), however nested."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            return numbers_in(arguments)
    found: set = set()
    stack, seen = [arguments], 0
    while stack and seen < _MAX_NUMBERS:
        value = stack.pop()
        seen += 1
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            found.add(Fraction(value))
        elif isinstance(value, float) and math.isfinite(value):
            found.add(Fraction(repr(value)))  # 0.1 as written, not its binary expansion
        elif isinstance(value, str):
            found |= numbers_in(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def summarize_tool_use(messages: list) -> ToolUse:
    """Count successful and failed tool results that answer calls the assistant actually made, and note which
    results are on the answer chain (see the module doc)."""
    calls: dict = {}  # call id -> its numeric arguments
    made_calls = False
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "assistant":
            listed = message.get("tool_calls")
            if isinstance(listed, list) and listed:
                made_calls = True
                for call in listed:
                    if isinstance(call, dict) and call.get("id"):
                        function = call.get("function") if isinstance(call.get("function"), dict) else {}
                        calls[call["id"]] = argument_numbers(function.get("arguments"))
    usage = ToolUse()
    if not made_calls:
        return usage
    known: set = set()  # numbers of the prompt, then of each tool result as it arrives
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "user"):
            known |= numbers_in(message_text(message.get("content")))
        if role != "tool":
            continue
        call_id = message.get("tool_call_id")
        if calls and call_id not in calls:
            continue
        content = message_text(message.get("content")).strip()
        if content.startswith(ERROR_PREFIX):
            usage.errors += 1
            continue
        usage.successes += 1
        arguments = calls.get(call_id, set())
        chained = not arguments or bool(arguments & known)
        value = parse_number(content)
        if value is not None:
            usage.numeric_results.add(value)
            if chained:
                usage.chained_results.add(value)
        known |= numbers_in(content)
    return usage


def final_answer(messages: list) -> Fraction | None:
    """The parsed answer of the last assistant message, or None if it is missing or still calling tools."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            if message.get("tool_calls"):
                return None
            return final_answer_value(message_text(message.get("content")))
    return None


def score_messages(messages: object, ground_truth: object) -> float:
    """The score table above, as a float."""
    if not isinstance(messages, list):
        return 0.0
    expected = ground_truth_value(ground_truth)
    answer = final_answer(messages)
    if expected is None or answer is None or answer != expected:
        return 0.0
    usage = summarize_tool_use(messages)
    if usage.successes:
        base = GROUNDED_SCORE if answer in usage.chained_results else TOOLS_USED_SCORE
    else:
        base = NO_TOOLS_SCORE
    if usage.successes > SPRAY_LIMIT:
        base = min(base, NO_TOOLS_SCORE)
    penalty = min(MAX_ERROR_PENALTY, ERROR_PENALTY * usage.errors)
    return round(base - penalty, 6)


@osmosis_reward
def tool_use_reward(messages: list, ground_truth: str, metadata: dict = None, **kwargs) -> float:
    """Full-mode reward: correct answer (exact) weighted by whether it was computed with tools."""
    try:
        return float(score_messages(messages, ground_truth))
    except Exception:  # noqa: BLE001 - a reward must never crash a training step
        return 0.0
