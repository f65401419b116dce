"""`osmosis-local test -i`: step through rollouts one LLM turn at a time, on the shared session.

Commands while a row runs: n / Enter (one LLM call), c (to the end), m (history), t (tools), row N (jump),
?/help, q (abort the row). docs/contract.md §10 describes the SDK's version.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from osmosis_local.cli.format import format_duration
from osmosis_local.config.settings import RolloutTestConfig
from osmosis_local.errors import SetupError
from osmosis_local.llm.base import ModelReply
from osmosis_local.log.records import END_STATE_LABELS, ToolCallRecord
from osmosis_local.runner.session import RunHooks, Session, open_session
from osmosis_local.safe_text import safe_str, strip_controls
from osmosis_local.types import Message, ToolSpec

STEP_HELP = (
    "Commands: [n]ext / Enter = one LLM call, [c]ontinue = run to the end, [m]essages = history, "
    "[t]ools = list tools, row N = jump to row N, ?/help = this help, [q]uit = abort this row"
)


async def _ask(prompt: str) -> str | None:
    try:
        return (await asyncio.to_thread(input, prompt)).strip()
    except (EOFError, KeyboardInterrupt):
        return None


def say(*values: object) -> None:
    """``print``, for text that may come from outside (the model, a tool, the dataset): never invalid Unicode,
    never a terminal control sequence."""
    print(*(strip_controls(safe_str(v)) for v in values))


def _print_messages(messages: Sequence[Mapping[str, Any]]) -> None:
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call.get("id")] = call.get("function", {}).get("name")
    for i, message in enumerate(messages):
        role = message.get("role")
        label = f"tool {names.get(message.get('tool_call_id'), '?')}" if role == "tool" else role
        content = message.get("content")
        text = "" if content is None else content if isinstance(content, str) else json.dumps(content)
        say(f"  [{i}] {label}:" + (f" {text}" if text else " (tool calls only)" if message.get("tool_calls") else ""))
        for call in message.get("tool_calls") or []:
            say(f"       -> {call['function']['name']}({call['function']['arguments']})")


def _print_tools(tools: list[ToolSpec]) -> None:
    """Each tool with its parameters and its whole description, wrapped to the terminal (never cut)."""
    width = max(40, shutil.get_terminal_size((100, 24)).columns - 2)
    for tool in tools:
        function = tool["function"]
        params = ", ".join((function.get("parameters") or {}).get("properties", {}))
        description = " ".join((function.get("description") or "").split())
        say(textwrap.fill(f"{function['name']}({params}): {description}", width=width, initial_indent="  ",
                          subsequent_indent="      "))  # fmt: skip


def _print_turn(turn: int, reply: ModelReply) -> None:
    say(f"\n--- Turn {turn}: LLM Response ---")
    if reply.message.get("content"):
        say(reply.message["content"])
    for call in reply.message.get("tool_calls") or []:
        args = call["function"]["arguments"]
        try:
            args = json.dumps(json.loads(args), indent=2)
        except (TypeError, ValueError):
            pass
        say(f"Tool call: {call['function']['name']}\n{args}")
    if not reply.message.get("tool_calls"):
        say(f"Finish reason: {reply.finish_reason}")


def run_interactive_command(config: RolloutTestConfig, *, start_row: int | None, debug: bool) -> int:
    """`test -i`: returns 0 when the person quits, 1 on a set-up error."""
    if config.output is not None:
        say("Note: -o is ignored in interactive mode (nothing is batch-run).")
    try:
        return asyncio.run(run_interactive(config, start_row=start_row))
    except SetupError as exc:
        say(f"Error: {exc}")
        if debug:
            import traceback

            traceback.print_exception(exc)
        return 1
    except KeyboardInterrupt:
        return 0


class _RowStepper:
    """The hooks of one interactive row: pause after each LLM call and take commands."""

    def __init__(self, tools: list[ToolSpec], rows: set[int]) -> None:
        self.tools = tools
        self.rows = rows
        self.running_to_end = False
        self.jump: int | None = None

    async def on_step(self, turn: int, reply: ModelReply, messages: list[Message]) -> bool:
        _print_turn(turn, reply)
        while not self.running_to_end:
            command = await _ask("> ")
            if command is None or command.lower() in ("q", "quit", "exit"):
                return False
            word = command.lower()
            if word in ("", "n", "next"):
                return True
            if word in ("c", "continue"):
                self.running_to_end = True
            elif word in ("m", "messages"):
                _print_messages(messages)
            elif word in ("t", "tools"):
                _print_tools(self.tools)
            elif word in ("?", "help", "h"):
                say(STEP_HELP)
            elif word.startswith("row") and word[3:].strip().isdigit():
                target = int(word[3:])
                if target in self.rows:
                    self.jump = target
                    return False
                say(f"There is no row {target} in this run (rows {min(self.rows)}-{max(self.rows)}).")
            else:
                say(f"Unknown command {command!r}. {STEP_HELP}")
        return True

    async def on_tools(self, records: list[ToolCallRecord]) -> None:
        for record in records:
            flag = " (error)" if record.is_error else ""
            say(f"Tool result {record.name}{flag}: {record.content}")


async def run_interactive(config: RolloutTestConfig, *, start_row: int | None) -> int:
    async with open_session(config, RunHooks()) as session:
        return await _session_loop(session, start_row)


async def _session_loop(session: Session, start_row: int | None) -> int:
    rows, tools = session.rows, session.tools
    for warning in session.warnings:
        say(f"Warning: {warning}")
    by_index = {row.row_index: row for row in rows}
    first, last = rows[0].row_index, rows[-1].row_index
    pending = start_row
    if pending is not None and pending not in by_index:
        say(f"Invalid row index {pending}. Valid range: {first}-{last}")
        pending = None

    while True:
        if pending is None:
            answer = await _ask(f"\nRow to run [{first}-{last}] (q to quit): ")
            if answer is None or answer.lower() in ("q", "quit", "exit"):
                return 0
            if not answer.isdigit() or int(answer) not in by_index:
                say(f"Invalid row index {answer!r}. Valid range: {first}-{last}")
                continue
            pending = int(answer)
        row, pending = by_index[pending], None
        say(f"\n=== Row {row.row_index} ===\n[system] {row.system_prompt}\n[user] {row.user_prompt}\n"
            f"[ground truth] {row.ground_truth}\nTools:")
        _print_tools(tools)
        stepper = _RowStepper(tools, set(by_index))
        result = await session.rollout(row, command="test", on_step=stepper.on_step, on_tools=stepper.on_tools)
        if stepper.jump is not None:
            pending = stepper.jump
            say(f"Row {row.row_index} abandoned; jumping to row {pending}.")
            continue
        status = END_STATE_LABELS[result.end_state]
        why = result.why_no_answer
        say(f"\n=== Row {row.row_index} finished: {status} ({result.end_state.replace('_', ' ')}) ===")
        say(f"Status: {status}" + (f" ({why})" if why else ""))
        say(f"Answer: {result.answer or '(none)'}  Ground truth: {row.ground_truth}")
        say(f"Finish reason: {result.finish_reason}")
        say(f"Duration: {format_duration(result.duration_ms)}")
        say(f"Tokens: {result.tokens} ({result.token_usage.num_llm_calls} LLM calls)")
        answer = await _ask("[m] messages, Enter = choose another row: ")
        if answer and answer.lower() in ("m", "messages"):
            _print_messages(result.messages)
