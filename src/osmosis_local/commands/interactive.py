"""`osmosis-local test -i`: step through rollouts one LLM turn at a time (contract §10).

Besides the SDK's commands (n, c, m, t, q) this implements the two its docs promise but never had:
`row N` (abandon this row and jump to row N) and `?`/`help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from osmosis_local.agent_loop import ChatTurn, ToolCallRecord, run_rollout
from osmosis_local.commands.rollout_setup import SetupError, build_model, load_rows, load_tools, preflight
from osmosis_local.console_format import format_duration

STEP_HELP = (
    "Commands: [n]ext / Enter = one LLM call, [c]ontinue = run to the end, [m]essages = history, "
    "[t]ools = list tools, row N = jump to row N, ?/help = this help, [q]uit = abort this row"
)


async def _ask(prompt: str) -> str | None:
    try:
        return (await asyncio.to_thread(input, prompt)).strip()
    except (EOFError, KeyboardInterrupt):
        return None


def _print_messages(messages: list[dict[str, Any]]) -> None:
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call.get("id")] = call.get("function", {}).get("name")
    for i, message in enumerate(messages):
        role = message.get("role")
        label = f"tool {names.get(message.get('tool_call_id'), '?')}" if role == "tool" else role
        print(f"  [{i}] {label}: {message.get('content')}")
        for call in message.get("tool_calls") or []:
            print(f"       -> {call['function']['name']}({call['function']['arguments']})")


def _print_tools(tools: list[dict[str, Any]]) -> None:
    for tool in tools:
        function = tool["function"]
        params = ", ".join((function.get("parameters") or {}).get("properties", {}))
        print(f"  {function['name']}({params}): {function.get('description', '').splitlines()[0] if function.get('description') else ''}")


def _print_turn(turn: int, reply: ChatTurn) -> None:
    print(f"\n--- Turn {turn}: LLM Response ---")
    if reply.message.get("content"):
        print(reply.message["content"])
    for call in reply.message.get("tool_calls") or []:
        args = call["function"]["arguments"]
        try:
            args = json.dumps(json.loads(args), indent=2)
        except (TypeError, ValueError):
            pass
        print(f"Tool call: {call['function']['name']}\n{args}")
    if not reply.message.get("tool_calls"):
        print(f"Finish reason: {reply.finish_reason}")


async def run_interactive(args: argparse.Namespace) -> int:
    from osmosis_local.model_names import load_dotenv_upwards
    from osmosis_local.tool_runner import ToolRunner

    load_dotenv_upwards()
    try:
        rows = load_rows(args)
        server, tools, warnings = load_tools(args.mcp)
        model = build_model(args, tag="primary", name=args.model, base_url=args.base_url, api_key=args.api_key)
        await preflight(model)
    except SetupError as exc:
        print(f"Error: {exc}")
        return 1
    for warning in warnings:
        print(f"Warning: {warning}")
    by_index = {row.row_index: row for row in rows}
    first, last = rows[0].row_index, rows[-1].row_index
    pending = args.row
    if pending is not None and pending not in by_index:
        print(f"Invalid row index {pending}. Valid range: {first}-{last}")
        pending = None

    async with ToolRunner(server, timeout_s=args.tool_timeout) as tool_runner:
        while True:
            if pending is None:
                answer = await _ask(f"\nRow to run [{first}-{last}] (q to quit): ")
                if answer is None or answer.lower() in ("q", "quit", "exit"):
                    return 0
                if not answer.isdigit() or int(answer) not in by_index:
                    print(f"Invalid row index {answer!r}. Valid range: {first}-{last}")
                    continue
                pending = int(answer)
            row, pending = by_index[pending], None
            print(f"\n=== Row {row.row_index} ===\n[system] {row.system_prompt}\n[user] {row.user_prompt}\nTools:")
            _print_tools(tools)
            mode = {"continue": False, "jump": None}

            async def on_step(turn: int, reply: ChatTurn, messages: list[dict[str, Any]]) -> bool:
                _print_turn(turn, reply)
                while not mode["continue"]:
                    command = await _ask("> ")
                    if command is None or command.lower() in ("q", "quit", "exit"):
                        return False
                    word = command.lower()
                    if word in ("", "n", "next"):
                        return True
                    if word in ("c", "continue"):
                        mode["continue"] = True
                    elif word in ("m", "messages"):
                        _print_messages(messages)
                    elif word in ("t", "tools"):
                        _print_tools(tools)
                    elif word in ("?", "help", "h"):
                        print(STEP_HELP)
                    elif word.startswith("row") and word[3:].strip().isdigit() and int(word[3:]) in by_index:
                        mode["jump"] = int(word[3:])
                        return False
                    else:
                        print(f"Unknown command {command!r}. {STEP_HELP}")
                return True

            async def on_tools(records: list[ToolCallRecord]) -> None:
                for record in records:
                    flag = " (error)" if record.is_error else ""
                    print(f"Tool result {record.name}{flag}: {record.content}")

            result = await run_rollout(
                system_prompt=row.system_prompt, user_prompt=row.user_prompt, model=model.client,
                tools=tools, tool_caller=tool_runner, max_turns=args.max_turns, on_step=on_step, on_tools=on_tools,
            )
            if mode["jump"] is not None:
                pending = mode["jump"]
                print(f"Row {row.row_index} abandoned; jumping to row {pending}.")
                continue
            status = "COMPLETED" if result.success else "FAILED"
            print(f"\nStatus: {status}" + (f" ({result.error})" if result.error else ""))
            print(f"Finish reason: {result.finish_reason}")
            print(f"Duration: {format_duration(result.duration_ms)}")
            print(f"Tokens: {result.total_tokens} ({result.num_llm_calls} LLM calls)")
            answer = await _ask("[m] messages, Enter = choose another row: ")
            if answer and answer.lower() in ("m", "messages"):
                _print_messages(result.messages)
