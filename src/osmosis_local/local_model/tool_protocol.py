"""How a small local model is made to call tools reliably: one JSON schema per turn.

Qwen2.5-Coder-1.5B rarely writes well-formed `<tool_call>` blocks on its own, and llama.cpp's
`tool_choice` does not constrain it. So every turn with tools is decoded under a schema that admits
exactly two kinds of reply, and the model picks one each turn:

- `{"name": "<tool>", "arguments": {...}}` — one call, arguments valid for that tool (Qwen's own
  tool-call shape, so the model's training helps);
- `{"name": "final_answer", "arguments": {"answer": "..."}}` — the reply to the user.

Prior calls and results are rewritten as plain turns in that same shape, so the model sees its own
history in the format it must continue. Everything here is pure (no model), so it is tested directly.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

FINAL_ANSWER = "final_answer"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

PROTOCOL_TEMPLATE = """\
# Tools

You have these tools (JSON signatures):
{signatures}

Each reply of yours is exactly one JSON object, one of:
{{"name": "<tool-name>", "arguments": {{...}}}}  to call one tool; its result comes back to you.
{{"name": "{final}", "arguments": {{"answer": "..."}}}}  to give the final answer to the user.
Call the tools one at a time, for every calculation step, passing earlier results exactly as returned.
Give the final answer only when the tool results so far fully answer the question."""

# Asked after the model chose `final_answer`: in a JSON string a 1.5B model writes the bare value
# and ignores the system prompt's answer format, while as prose it follows it (measured).
FINAL_REPLY_REQUEST = (
    "Write your final reply to the user now, as plain text. "
    "Follow the answer format given in the system instructions exactly."
)


@dataclass(frozen=True)
class ParsedTurn:
    """The model's reply converted back to OpenAI terms: content text or one tool call."""

    content: str | None
    tool_calls: list[dict[str, Any]]


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


def protocol_addendum(tools: list[dict[str, Any]] | None) -> str:
    """The short system text that explains the reply protocol and lists the tools."""
    lines = []
    for function in tool_functions(tools):
        signature = {"name": function["name"], "description": function.get("description", "")}
        signature["parameters"] = function.get("parameters", {"type": "object", "properties": {}})
        lines.append(json.dumps(signature, ensure_ascii=False, separators=(",", ":")))
    return PROTOCOL_TEMPLATE.format(signatures="\n".join(lines), final=FINAL_ANSWER)


def _text(content: Any) -> str:
    """OpenAI content as plain text (a string, or the text parts of a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def _call_json(name: str, arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)


def render_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Rewrite an OpenAI history into plain system/user/assistant turns for the protocol.

    The addendum joins the (first) system message; assistant tool calls become the JSON objects the
    model itself emits; tool results become user turns naming the call they answer, so the model
    can tell which number came from which step. A final assistant text is shown as a final answer.
    """
    names_by_id: dict[str, str] = {}
    out: list[dict[str, str]] = []
    addendum = protocol_addendum(tools) if tool_functions(tools) else ""
    system_seen = False
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
            out.append({"role": "user", "content": f"<tool_response>\n{name} returned: {result}\n</tool_response>"})
        else:
            out.append({"role": "user", "content": _text(message.get("content"))})
    if not system_seen and addendum:
        out.insert(0, {"role": "system", "content": addendum})
    return _merge_consecutive(out)


def _render_assistant(message: dict[str, Any], names_by_id: dict[str, str], protocol: bool) -> str:
    calls = message.get("tool_calls") or []
    parts = []
    for call in calls:
        function = call.get("function") or {}
        name = str(function.get("name", ""))
        names_by_id[str(call.get("id"))] = name
        parts.append(_call_json(name, function.get("arguments", {})))
    if parts:
        return "\n".join(parts)
    if not protocol:
        return _text(message.get("content"))
    return json.dumps({"name": FINAL_ANSWER, "arguments": {"answer": _text(message.get("content"))}}, ensure_ascii=False)


def _merge_consecutive(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Join back-to-back turns of one role (e.g. two tool results), which the chat template expects."""
    merged: list[dict[str, str]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"] and message["role"] != "system":
            merged[-1] = {"role": message["role"], "content": merged[-1]["content"] + "\n" + message["content"]}
        else:
            merged.append(message)
    return merged


def final_reply_messages(rendered: list[dict[str, str]], choice_json: str) -> list[dict[str, str]]:
    """The follow-up conversation that turns a `final_answer` choice into the user-facing reply."""
    return [*rendered, {"role": "assistant", "content": choice_json}, {"role": "user", "content": FINAL_REPLY_REQUEST}]


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id."""
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_turn(text: str, tools: list[dict[str, Any]] | None) -> ParsedTurn:
    """Convert the constrained reply back into OpenAI terms.

    The schema guarantees the shape when decoding finished; a reply cut short (length) or otherwise
    unparsable is returned as plain content so the caller still sees what the model said.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return ParsedTurn(content=text, tool_calls=[])
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return ParsedTurn(content=text, tool_calls=[])
    name, arguments = data["name"], data.get("arguments")
    if name == FINAL_ANSWER and name not in {f["name"] for f in tool_functions(tools)}:
        answer = arguments.get("answer") if isinstance(arguments, dict) else None
        return ParsedTurn(content=answer if isinstance(answer, str) else text, tool_calls=[])
    if not _NAME_RE.match(name) or not isinstance(arguments, dict):
        return ParsedTurn(content=text, tool_calls=[])
    call = {
        "id": new_call_id(),
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }
    return ParsedTurn(content=None, tool_calls=[call])
