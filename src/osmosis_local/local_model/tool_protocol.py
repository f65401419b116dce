"""How a small local model is made to call tools reliably: a constrained reply every turn.

Qwen2.5-Coder-1.5B rarely writes well-formed `<tool_call>` blocks on its own, and llama.cpp's
`tool_choice` does not constrain it. So every turn with tools is decoded under a grammar that
admits exactly two kinds of reply, and the model picks one each turn:

- `{"name": "<tool>", "arguments": {...}}` — one call, arguments valid for that tool (Qwen's own
  tool-call shape, so the model's training helps);
- `{"name": "final_answer", "arguments": {"answer": "..."}}` — it is done.

Measured on the dataset (12 rows): this plain protocol 5/12; adding a "thought" field before the
call 3/12; a prose plan on the first turn made the model answer without tools or loop. Prior
calls and results are rewritten as plain turns in the same shape, so the model sees its own
history in the format it must continue. Everything here is pure (no model), so it is tested directly.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from osmosis_local.local_model.constraints import json_grammar
from osmosis_local.types import content_text as _text

FINAL_ANSWER = "final_answer"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

PROTOCOL_TEMPLATE = """\
# Tools

You have these tools (JSON signatures):
{signatures}

Each reply of yours is exactly one JSON object, one of:
{{"name": "<tool-name>", "arguments": {{...}}}}  to call one tool; its result comes back to you.
{{"name": "{final}", "arguments": {{"answer": "..."}}}}  to give the final answer to the user.
Call one tool per reply, passing earlier results exactly as returned.
Give the final answer only when the tool results so far fully answer the question."""

TOOL_RESULT_TEMPLATE = "<tool_response>\n{name} returned: {result}\n</tool_response>"

# Asked after the model chose `final_answer`: in a JSON string a 1.5B model writes the bare value
# and ignores the system prompt's answer format, while as prose it follows it (measured). Quoting
# the system prompt here instead made the model copy its example answer, so it is only referred to.
FINAL_REPLY_REQUEST = (
    "Write your final reply to the user now, as plain text. "
    "Follow the answer format given in the system instructions exactly."
)


@dataclass(frozen=True)
class ParsedTurn:
    """The model's reply in OpenAI terms: content (the answer, or text before a call) and at most
    one tool call; `final` marks a `final_answer` choice."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    final: bool = False


def tool_functions(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The `function` parts of OpenAI tools, skipping anything that is not a named function."""
    functions = []
    for tool in tools or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str) and function["name"]:
            functions.append(function)
    return functions


def _argument_schema(function: dict[str, Any]) -> dict[str, Any]:
    """The tool's parameter schema, closed to unknown keys so the model cannot invent arguments."""
    params = function.get("parameters")
    schema = dict(params) if isinstance(params, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    return schema


def _branch(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": name}, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def final_answer_schema() -> dict[str, Any]:
    """The `arguments` of the final-answer branch: one non-empty string."""
    return {
        "type": "object",
        "properties": {"answer": {"type": "string", "minLength": 1}},
        "required": ["answer"],
        "additionalProperties": False,
    }


def build_turn_schema(tools: list[dict[str, Any]] | None, *, allow_final: bool = True) -> dict[str, Any]:
    """The JSON schema of one turn: call any offered tool with valid arguments, or answer.

    `allow_final=False` (OpenAI `tool_choice="required"`) drops the answer branch; a named
    `tool_choice` is handled by passing only that tool.
    """
    branches = [_branch(f["name"], _argument_schema(f)) for f in tool_functions(tools)]
    if allow_final or not branches:
        branches.append(_branch(FINAL_ANSWER, final_answer_schema()))
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def turn_grammar(tools: list[dict[str, Any]] | None, *, allow_final: bool = True) -> str:
    """The llguidance grammar of one turn: exactly one compact JSON object under `build_turn_schema`."""
    return json_grammar(build_turn_schema(tools, allow_final=allow_final))


def protocol_addendum(tools: list[dict[str, Any]] | None) -> str:
    """The short system text that explains the reply protocol and lists the tools."""
    lines = []
    for function in tool_functions(tools):
        signature = {"name": function["name"], "description": function.get("description", "")}
        signature["parameters"] = function.get("parameters", {"type": "object", "properties": {}})
        lines.append(json.dumps(signature, ensure_ascii=False, separators=(",", ":")))
    return PROTOCOL_TEMPLATE.format(signatures="\n".join(lines), final=FINAL_ANSWER)


def _call_json(name: str, arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)


def render_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Rewrite an OpenAI history into plain system/user/assistant turns for the protocol.

    With tools offered, the addendum joins the (first) system message; assistant tool calls become
    any text they carried plus the JSON object the model itself emits; tool results become user turns
    naming the call they answer, so the model can tell which number came from which step; and an
    earlier assistant answer is shown as a `final_answer` object, so the history follows the protocol.
    """
    names_by_id: dict[str, str] = {}
    out: list[dict[str, str]] = []
    addendum = protocol_addendum(tools) if tool_functions(tools) else ""
    system_seen = False
    step = 0
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer") and not system_seen:
            system = _text(message.get("content")).rstrip()
            out.append({"role": "system", "content": f"{system}\n\n{addendum}" if addendum else system})
            system_seen = True
        elif role in ("system", "developer"):
            out.append({"role": "system", "content": _text(message.get("content"))})
        elif role == "assistant":
            out.append({"role": "assistant", "content": _render_assistant(message, names_by_id, bool(addendum))})
        elif role == "tool":
            name = names_by_id.get(str(message.get("tool_call_id")), message.get("name") or "tool")
            result = _text(message.get("content"))
            step += 1
            out.append({"role": "user", "content": TOOL_RESULT_TEMPLATE.format(step=step, name=name, result=result)})
        else:
            out.append({"role": "user", "content": _text(message.get("content"))})
    if not system_seen and addendum:
        out.insert(0, {"role": "system", "content": addendum})
    return _merge_consecutive(out)


def _render_assistant(message: dict[str, Any], names_by_id: dict[str, str], protocol: bool) -> str:
    text = _text(message.get("content")).strip()
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        name = str(function.get("name", ""))
        names_by_id[str(call.get("id"))] = name
        calls.append(_call_json(name, function.get("arguments", {})))
    if calls:
        return "\n".join([text, *calls] if text else calls)
    if not protocol:
        return text
    return _call_json(FINAL_ANSWER, {"answer": text})


def _merge_consecutive(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Join back-to-back turns of one role (e.g. two tool results), which the chat template expects."""
    merged: list[dict[str, str]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"] and message["role"] != "system":
            merged[-1] = {"role": message["role"], "content": merged[-1]["content"] + "\n" + message["content"]}
        else:
            merged.append(message)
    return merged


def final_reply_messages(rendered: list[dict[str, str]], choice_text: str) -> list[dict[str, str]]:
    """The follow-up conversation that turns a `final_answer` choice into the user-facing reply."""
    return [*rendered, {"role": "assistant", "content": choice_text}, {"role": "user", "content": FINAL_REPLY_REQUEST}]


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id."""
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_turn(text: str, tools: list[dict[str, Any]] | None) -> ParsedTurn:
    """Convert a constrained reply (one JSON object, maybe after some text) back into OpenAI terms.

    The grammar guarantees the shape when decoding finished; a reply cut short or otherwise
    unparsable comes back as plain content so the caller still sees what the model said.
    """
    start = text.find("{")
    prefix = text[:start].strip() if start >= 0 else ""
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return ParsedTurn(content=text, tool_calls=[])
    name, arguments = data["name"], data.get("arguments")
    if name == FINAL_ANSWER and name not in {f["name"] for f in tool_functions(tools)}:
        answer = arguments.get("answer") if isinstance(arguments, dict) else None
        return ParsedTurn(content=answer if isinstance(answer, str) else text, tool_calls=[], final=True)
    if not _NAME_RE.match(name) or not isinstance(arguments, dict):
        return ParsedTurn(content=text, tool_calls=[])
    call = {
        "id": new_call_id(),
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }
    return ParsedTurn(content=prefix or None, tool_calls=[call])
