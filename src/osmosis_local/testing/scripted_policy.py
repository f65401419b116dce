"""TEST DOUBLE: a scripted "policy model" that replays the dataset's ``steps`` over a real HTTP API.

This is not a model. It answers OpenAI chat-completion requests by looking the user's question up in
the dataset and emitting the row's tool-call plan one step per turn, then the final answer. It exists
so the runner, the MCP tools and the eval functions can be tested end to end - and benchmarked - on
real sockets without a GPU or an API key, and so that faults (rate limits, 5xx, hangs, malformed tool
calls, wrong answers) can be injected on demand.

Policy, per request (stateless: everything is derived from the message history):

* the row is found by the last user message (exact ``user_prompt``; an unknown question gets the
  plain answer ``#### 0``);
* tool results already in the history are counted; the next step is emitted as one tool call, with
  ``{"$ref": k}`` replaced by the k-th result parsed exactly as a JSON number (ints stay ints,
  decimals stay exact ``Decimal``s);
* a result starting with ``Error:`` (or one that is not a number) makes the policy answer
  ``#### error`` so failures are visible in the scores;
* when all steps are done it answers ``The answer is X.\\n#### X`` with X the last tool result text.

By default (``answer="steps"``) every row must carry a non-empty ``steps`` list: a row without one
is refused when the policy is built, so a dataset that cannot be replayed never scores 1.0 by quietly
echoing its ground truth. ``answer="ground-truth"`` (``--answer ground-truth``) is that echo, named:
every row is answered ``The answer is X.\\n#### X`` with X its ground truth, without any tool call.

Injected fault calls (``unknown_tool``, ``malformed_tool_args``) carry ids starting with
``call_fault_`` so their error results are recognised and skipped rather than ending the episode.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from osmosis_local.testing.scripted_server import ScriptedOpenAIServer, ScriptedReply, chat_completion
from osmosis_local.types import content_text as _text

FAULT_CALL_PREFIX = "call_fault_"
UNKNOWN_TOOL_NAME = "no_such_tool"
MALFORMED_ARGUMENTS = '{"a": 1, "b": '  # deliberately cut off: not JSON
MODEL_NAME = "scripted-policy"
ANSWER_STEPS = "steps"
ANSWER_GROUND_TRUTH = "ground-truth"
ANSWER_MODES = (ANSWER_STEPS, ANSWER_GROUND_TRUTH)

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")

Number = int | Decimal


@dataclass(frozen=True)
class Faults:
    """Fault-injection settings. All default to "off"; every random choice is seeded.

    Request numbers count every chat request the server has received (0-based, server-wide).
    ``fail_first_n``: requests 0..n-1 answer ``fail_status`` with ``Retry-After: retry_after``.
    ``error_rate``: each request fails with ``error_status`` with this probability (seeded per request
    number, so a sequential client sees the same sequence every time).
    ``hang_s``: delay added before answering; applies to the first ``hang_first_n`` requests, or to
    every request when ``hang_first_n`` is None. ``latency_s`` is added to every request.
    ``malformed_tool_args`` / ``unknown_tool``: the first turn(s) of each conversation call a tool with
    arguments that are not JSON / a tool name that does not exist, then the policy carries on.
    ``wrong_answer_rate``: the final answer is off by one with this probability, drawn per (row, k)
    where k is the request body's integer ``seed`` if present, else how many final answers this row
    has had so far - so repeated runs of one row get different but reproducible outcomes (a final
    request that is retried after a client timeout counts as another k).
    """

    latency_s: float = 0.0
    fail_first_n: int = 0
    fail_status: int = 429
    retry_after: str | None = "0"
    error_rate: float = 0.0
    error_status: int = 500
    hang_s: float = 0.0
    hang_first_n: int | None = None
    malformed_tool_args: bool = False
    unknown_tool: bool = False
    wrong_answer_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("latency_s", "hang_s", "fail_first_n"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.hang_first_n is not None and self.hang_first_n < 0:
            raise ValueError(f"hang_first_n must be >= 0 or None, got {self.hang_first_n!r}")
        for name in ("error_rate", "wrong_answer_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)!r}")
        for name in ("fail_status", "error_status"):
            if not 400 <= getattr(self, name) <= 599:
                raise ValueError(f"{name} must be an HTTP error status (400-599), got {getattr(self, name)!r}")


@dataclass(frozen=True)
class _Row:
    row_id: str
    steps: tuple[dict[str, Any], ...]
    ground_truth: str


def parse_number(text: str) -> Number:
    """Parse a tool result as an exact JSON number: ``int`` for integers, else ``Decimal``.

    Raises ValueError for anything else (``Error: ...``, ``NaN``, prose) so the caller can stop.
    """
    stripped = text.strip()
    if not _JSON_NUMBER.fullmatch(stripped):
        raise ValueError(f"tool result is not a JSON number: {stripped[:60]!r}")
    if any(ch in stripped for ch in ".eE"):
        return Decimal(stripped)
    return int(stripped)


def _number_json(value: Any) -> str:
    """Exact JSON text for a number argument (no float rounding of Decimals, ints kept as ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"step argument must be a number or {{'$ref': k}}, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value, allow_nan=False)
    if not value.is_finite():
        raise ValueError(f"step argument must be finite, got {value}")
    return str(value)


def _arguments_json(arguments: Mapping[str, Any], results: Sequence[Number]) -> str:
    """Serialise one step's arguments, resolving ``{"$ref": k}`` to the k-th tool result."""
    parts: list[str] = []
    for name, value in arguments.items():
        if isinstance(value, Mapping) and "$ref" in value:
            value = results[int(value["$ref"])]
        parts.append(f"{json.dumps(name)}: {_number_json(value)}")
    return "{" + ", ".join(parts) + "}"


def _words(text: str) -> int:
    return len(text.split())


def _off_by_one(answer: str) -> str:
    try:
        value = parse_number(answer)
    except ValueError:
        return "wrong"
    return str(value + 1)


def _read_history(messages: Sequence[Any]) -> tuple[int, list[str]]:
    """(number of injected fault calls made, texts of the real tool results in order)."""
    fault_calls = 0
    results: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "assistant":
            ids = [str(call.get("id", "")) for call in message.get("tool_calls") or [] if isinstance(call, dict)]
            fault_calls += sum(1 for call_id in ids if call_id.startswith(FAULT_CALL_PREFIX))
        elif message.get("role") == "tool":
            if not str(message.get("tool_call_id", "")).startswith(FAULT_CALL_PREFIX):
                results.append(_text(message.get("content")))
    return fault_calls, results


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL dataset, decimals as exact ``Decimal``s (blank lines skipped)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"Dataset file not found: {file} (generate it with scripts/generate_dataset.py)")
    rows: list[dict[str, Any]] = []
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}: invalid JSON at line {number}: {exc.msg}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{file}: line {number} is not a JSON object")
            rows.append(row)
    return rows


def _row_label(index: int, row: Mapping[str, Any]) -> str:
    return f"row {index} (id {row['id']!r})" if row.get("id") is not None else f"row {index}"


def _row_steps(index: int, row: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """The row's plan, ``()`` when it has none (missing, null, empty, or not a list)."""
    steps = row.get("steps")
    if isinstance(steps, str):  # CSV/parquet may carry the plan as JSON text
        if not steps.strip():
            return ()
        try:
            steps = json.loads(steps, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{_row_label(index, row)}: steps is not valid JSON: {exc.msg}") from None
    if not isinstance(steps, list | tuple):
        return ()
    return tuple(steps)


class ScriptedPolicy:
    """TEST DOUBLE policy: a responder for :class:`ScriptedOpenAIServer` that follows each row's ``steps``.

    ``answer="steps"`` (default) replays every row's ``steps`` and refuses rows without them;
    ``answer="ground-truth"`` answers every row with its ground truth and calls no tools.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], *, answer: str = ANSWER_STEPS, **faults: Any) -> None:
        if answer not in ANSWER_MODES:
            raise ValueError(f"answer must be one of {', '.join(map(repr, ANSWER_MODES))}, got {answer!r}")
        self.answer = answer
        self.faults = Faults(**faults)
        self._rows: dict[str, _Row] = {}
        missing: list[str] = []
        total = 0
        for index, row in enumerate(rows):
            total += 1
            prompt = row.get("user_prompt")
            if not isinstance(prompt, str):
                raise ValueError(f"row {index}: user_prompt must be a string")
            steps: tuple[dict[str, Any], ...] = ()
            if answer == ANSWER_STEPS:
                steps = _row_steps(index, row)
                if not steps:
                    missing.append(_row_label(index, row))
            self._rows[prompt] = _Row(str(row.get("id", index)), steps, str(row.get("ground_truth", "")))
        if missing:
            raise ValueError(
                f"{missing[0]} has no `steps` to replay ({len(missing)} of {total} rows lack a non-empty "
                f"`steps` list). The scripted policy solves rows by calling the tools in `steps`; pass "
                f"--answer ground-truth (answer='ground-truth' in Python) to answer every row with its "
                f"ground truth without calling tools."
            )
        self._lock = threading.Lock()
        self._request_count = 0
        self._final_counts: dict[str, int] = {}

    @classmethod
    def from_jsonl(cls, path: str | Path, *, answer: str = ANSWER_STEPS, **faults: Any) -> ScriptedPolicy:
        return cls(load_rows(path), answer=answer, **faults)

    @property
    def request_count(self) -> int:
        """Chat requests received so far (including the ones answered with injected errors)."""
        return self._request_count

    def __call__(self, body: dict[str, Any]) -> ScriptedReply:
        faults = self.faults
        with self._lock:
            number = self._request_count
            self._request_count += 1
        delay = faults.latency_s
        if faults.hang_s and (faults.hang_first_n is None or number < faults.hang_first_n):
            delay += faults.hang_s
        if number < faults.fail_first_n:
            return self._error(faults.fail_status, "fail_first_n", delay)
        if faults.error_rate and random.Random(f"{faults.seed}:error:{number}").random() < faults.error_rate:
            return self._error(faults.error_status, "error_rate", delay)
        return ScriptedReply(body=self.respond(body), delay_s=delay)

    def _error(self, status: int, reason: str, delay: float) -> ScriptedReply:
        headers = {"Retry-After": self.faults.retry_after} if self.faults.retry_after is not None else {}
        message = f"scripted policy: injected HTTP {status} ({reason})"
        return ScriptedReply(
            body={"error": {"message": message, "type": "injected_fault", "code": status}},
            status=status,
            headers=headers,
            delay_s=delay,
        )

    def respond(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The chat-completion body for one request (no transport faults applied)."""
        messages = list(body.get("messages") or [])
        model = str(body.get("model") or MODEL_NAME)
        prompt_tokens = max(1, sum(_words(_text(m.get("content"))) for m in messages if isinstance(m, dict)))
        user = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
        question = _text(user.get("content")) if user else ""
        row = self._rows.get(question) or self._rows.get(question.strip())
        if row is None:
            return self._answer("I don't know this question.\n#### 0", model, prompt_tokens)

        fault_calls, results = _read_history(messages)
        if not results:
            pending = [kind for kind, on in (("unknown_tool", self.faults.unknown_tool),
                                             ("malformed", self.faults.malformed_tool_args)) if on]
            if fault_calls < len(pending):
                return self._fault_call(pending[fault_calls], row, model, prompt_tokens)

        if self.answer == ANSWER_GROUND_TRUTH:
            return self._final(row.ground_truth, row, body, model, prompt_tokens)

        parsed: list[Number] = []
        for index, result in enumerate(results):
            if result.lstrip().startswith("Error:"):
                return self._answer(f"Tool call {index} failed, so I cannot answer.\n#### error", model, prompt_tokens)
            try:
                parsed.append(parse_number(result))
            except ValueError:
                return self._answer(f"Tool call {index} did not return a number.\n#### error", model, prompt_tokens)

        if len(results) < len(row.steps):
            step = row.steps[len(results)]
            arguments = _arguments_json(step.get("arguments") or {}, parsed)
            call = {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": str(step["tool"]), "arguments": arguments},
            }
            return chat_completion(
                tool_calls=[call], model=model, prompt_tokens=prompt_tokens,
                completion_tokens=max(1, _words(step["tool"]) + len(step.get("arguments") or {})),
            )

        return self._final(results[-1].strip(), row, body, model, prompt_tokens)

    def _final(self, answer: str, row: _Row, body: Mapping[str, Any], model: str, prompt_tokens: int) -> dict[str, Any]:
        if self._wrong_this_time(row, body):
            answer = _off_by_one(answer)
        return self._answer(f"The answer is {answer}.\n#### {answer}", model, prompt_tokens)

    def _wrong_this_time(self, row: _Row, body: Mapping[str, Any]) -> bool:
        rate = self.faults.wrong_answer_rate
        if not rate:
            return False
        seed = body.get("seed")
        if isinstance(seed, int) and not isinstance(seed, bool):
            k = seed
        else:
            with self._lock:
                k = self._final_counts.get(row.row_id, 0)
                self._final_counts[row.row_id] = k + 1
        return random.Random(f"{self.faults.seed}:wrong:{row.row_id}:{k}").random() < rate

    def _fault_call(self, kind: str, row: _Row, model: str, prompt_tokens: int) -> dict[str, Any]:
        if kind == "unknown_tool":
            name, arguments = UNKNOWN_TOOL_NAME, "{}"
        else:
            name = str(row.steps[0]["tool"]) if row.steps else "add"
            arguments = MALFORMED_ARGUMENTS
        call = {
            "id": f"{FAULT_CALL_PREFIX}{uuid.uuid4().hex[:10]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        return chat_completion(tool_calls=[call], model=model, prompt_tokens=prompt_tokens, completion_tokens=1)

    @staticmethod
    def _answer(content: str, model: str, prompt_tokens: int) -> dict[str, Any]:
        return chat_completion(content=content, model=model, prompt_tokens=prompt_tokens,
                               completion_tokens=max(1, _words(content)))


def serve_scripted_policy(
    dataset: str | Path | Sequence[Mapping[str, Any]],
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    ready: Callable[[str], None] | None = None,
    answer: str = ANSWER_STEPS,
    **faults: Any,
) -> None:
    """Serve the TEST DOUBLE policy until interrupted; ``ready(base_url)`` is called once listening.

    Raises ValueError before listening if a row cannot be served in the ``answer`` mode.
    """
    rows = load_rows(dataset) if isinstance(dataset, str | Path) else dataset
    _serve(ScriptedPolicy(rows, answer=answer, **faults), host, port, ready)


def _serve(policy: ScriptedPolicy, host: str, port: int, ready: Callable[[str], None] | None) -> None:
    server = ScriptedOpenAIServer(policy, host=host, port=port)
    if ready is not None:
        ready(f"http://{host}:{server.port}/v1")
    try:
        server.serve_forever()
    finally:
        server.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``osmosis-local serve-scripted-policy``."""
    add = parser.add_argument
    add("-d", "--dataset", required=True, help="JSONL dataset whose `steps` the policy replays")
    add("--answer", choices=ANSWER_MODES, default=ANSWER_STEPS,
        help="steps (default): replay each row's `steps` as tool calls, refusing a dataset with rows "
        "without them; ground-truth: answer every row with its ground truth, calling no tools")
    add("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    add("--port", type=int, default=8001, help="port (default: 8001; 0 picks a free port)")
    add("--latency", type=float, default=0.0, metavar="S", help="fixed delay per request, seconds")
    add("--fail-first-n", type=int, default=0, metavar="N", help="fail the first N requests")
    add("--fail-status", type=int, default=429, help="status for --fail-first-n (default: 429)")
    add("--retry-after", default="0", help="Retry-After header on injected errors (default: 0)")
    add("--error-rate", type=float, default=0.0, metavar="P", help="fail each request with probability P")
    add("--error-status", type=int, default=500, help="status for --error-rate (default: 500)")
    add("--hang", type=float, default=0.0, metavar="S", help="delay answers by S seconds (past client timeouts)")
    add("--hang-first-n", type=int, default=None, metavar="N", help="only hang the first N requests (default: all)")
    add("--malformed-tool-args", action="store_true", help="first call of each conversation has non-JSON arguments")
    add("--unknown-tool", action="store_true", help=f"first call of each conversation is to {UNKNOWN_TOOL_NAME!r}")
    add("--wrong-answer-rate", type=float, default=0.0, metavar="P", help="final answer off by one with probability P")
    add("--seed", type=int, default=0, help="seed for every random fault (default: 0)")


def faults_from_args(args: argparse.Namespace) -> Faults:
    return Faults(
        latency_s=args.latency, fail_first_n=args.fail_first_n, fail_status=args.fail_status,
        retry_after=args.retry_after, error_rate=args.error_rate, error_status=args.error_status,
        hang_s=args.hang, hang_first_n=args.hang_first_n, malformed_tool_args=args.malformed_tool_args,
        unknown_tool=args.unknown_tool, wrong_answer_rate=args.wrong_answer_rate, seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of the subcommand: blocks until Ctrl-C; 1 on a bad dataset or option."""
    try:
        faults = faults_from_args(args)
        rows = load_rows(args.dataset)
        policy = ScriptedPolicy(rows, answer=args.answer, **asdict(faults))
    except (OSError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    mode = "; answers with the ground truth, no tool calls" if args.answer == ANSWER_GROUND_TRUTH else ""

    def ready(base_url: str) -> None:
        print(f"Scripted policy (TEST DOUBLE, not a model{mode}): {len(rows)} rows at {base_url}", flush=True)

    try:
        _serve(policy, args.host, args.port, ready)
    except OSError as exc:
        print(f"Error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osmosis-local serve-scripted-policy", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
