"""The local model's tool protocol and output constraints: schemas, grammars, rendering, parsing.

All pure functions, so no weights are needed; the real model is exercised by
`test_local_model_integration.py`.
"""

from __future__ import annotations

import json

import pytest

from osmosis_local.local_model import tool_protocol as tp
from osmosis_local.local_model.constraints import (
    FREE_TEXT_GRAMMAR,
    ResponseFormatError,
    json_grammar,
    response_format_schema,
)

AB = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}
TOOLS = [
    {"type": "function", "function": {"name": "add", "description": "a + b", "parameters": AB}},
    {"type": "function", "function": {"name": "square_root", "description": "sqrt",
                                      "parameters": {"type": "object", "properties": {"x": {"type": "number"}},
                                                     "required": ["x"]}}},
]


def _branch_names(schema: dict) -> list[str]:
    branches = schema.get("anyOf", [schema])
    return [b["properties"]["name"]["const"] for b in branches]


def test_turn_schema_offers_every_tool_and_the_final_answer() -> None:
    schema = tp.build_turn_schema(TOOLS)

    assert _branch_names(schema) == ["add", "square_root", "final_answer"]
    add = schema["anyOf"][0]
    assert add["required"] == ["name", "arguments"] and add["additionalProperties"] is False
    assert add["properties"]["arguments"]["required"] == ["a", "b"]
    assert add["properties"]["arguments"]["additionalProperties"] is False  # no invented arguments
    final = schema["anyOf"][2]["properties"]["arguments"]
    assert final["properties"]["answer"] == {"type": "string", "minLength": 1}


def test_tool_parameters_are_not_mutated() -> None:
    tp.build_turn_schema(TOOLS)
    assert "additionalProperties" not in AB


@pytest.mark.parametrize(
    ("tools", "allow_final", "names"),
    [
        (TOOLS, False, ["add", "square_root"]),  # tool_choice="required"
        (TOOLS[:1], False, ["add"]),  # a named tool_choice
        ([], True, ["final_answer"]),
        ([{"type": "function", "function": {"name": ""}}, {"type": "retrieval"}], True, ["final_answer"]),
    ],
)
def test_turn_schema_variants(tools: list, allow_final: bool, names: list[str]) -> None:
    assert _branch_names(tp.build_turn_schema(tools, allow_final=allow_final)) == names


def test_turn_grammar_is_one_compact_json_value() -> None:
    grammar = tp.turn_grammar(TOOLS)
    header, start = grammar.splitlines()[:2]
    assert header == "%llguidance {}"
    schema = json.loads(start.removeprefix("start: %json "))
    assert schema["x-guidance"]["whitespace_flexible"] is False
    assert _branch_names(schema) == ["add", "square_root", "final_answer"]


HISTORY = [
    {"role": "system", "content": "Be exact. End with #### <number>."},
    {"role": "user", "content": "What is sqrt(16) + 1?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "square_root", "arguments": '{"x": 16}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "4"},
    {"role": "assistant", "tool_calls": [
        {"id": "c2", "type": "function", "function": {"name": "add", "arguments": {"a": 4, "b": 1}}},
        {"id": "c3", "type": "function", "function": {"name": "add", "arguments": "not json"}}]},
    {"role": "tool", "tool_call_id": "c2", "content": "5"},
    {"role": "tool", "tool_call_id": "c3", "content": "Error: bad arguments"},
]


def test_render_messages_puts_the_protocol_after_the_system_prompt() -> None:
    rendered = tp.render_messages(HISTORY, TOOLS)

    system = rendered[0]
    assert system["role"] == "system"
    assert system["content"].startswith("Be exact. End with #### <number>.\n\n# Tools")
    assert '{"name":"add","description":"a + b","parameters":' in system["content"]
    assert '"final_answer"' in system["content"]


def test_render_messages_rewrites_calls_and_results_as_plain_turns() -> None:
    rendered = tp.render_messages(HISTORY, TOOLS)

    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert json.loads(rendered[2]["content"]) == {"name": "square_root", "arguments": {"x": 16}}
    assert rendered[3]["content"] == "<tool_response>\nsquare_root returned: 4\n</tool_response>"
    first, second = rendered[4]["content"].split("\n")
    assert json.loads(first) == {"name": "add", "arguments": {"a": 4, "b": 1}}
    assert json.loads(second) == {"name": "add", "arguments": "not json"}
    # two results in a row become one user turn, each naming its call
    assert rendered[5]["content"].count("<tool_response>") == 2
    assert "add returned: Error: bad arguments" in rendered[5]["content"]


def test_render_messages_shows_an_earlier_answer_as_a_final_answer_object() -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "#### 3"},
               {"role": "user", "content": "and now?"}]
    rendered = tp.render_messages(history, TOOLS)

    assert rendered[0]["role"] == "system"  # no system prompt: the protocol alone
    assert json.loads(rendered[2]["content"]) == {"name": "final_answer", "arguments": {"answer": "#### 3"}}


def test_render_messages_without_tools_keeps_plain_chat_unchanged() -> None:
    history = [{"role": "system", "content": "judge"},
               {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "two"}]},
               {"role": "assistant", "content": "ok"}]

    assert tp.render_messages(history, None) == [
        {"role": "system", "content": "judge"},
        {"role": "user", "content": "part one\ntwo"},
        {"role": "assistant", "content": "ok"},
    ]


def test_parse_turn_turns_a_call_into_an_openai_tool_call_with_a_fresh_id() -> None:
    first = tp.parse_turn('{"name": "add", "arguments": {"a": 1.5, "b": 2}}', TOOLS)
    second = tp.parse_turn('{"name": "add", "arguments": {"a": 1.5, "b": 2}}', TOOLS)

    assert first.content is None and not first.final
    (call,) = first.tool_calls
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["id"] != second.tool_calls[0]["id"]
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 1.5, "b": 2}


@pytest.mark.parametrize(
    ("text", "content", "final"),
    [
        ('{"name": "final_answer", "arguments": {"answer": "#### 7"}}', "#### 7", True),
        ('{"name": "add", "arguments": {"a": 1', '{"name": "add", "arguments": {"a": 1', False),  # cut short
        ("plain words", "plain words", False),
        ('{"name": "bad name!", "arguments": {}}', '{"name": "bad name!", "arguments": {}}', False),
        ('["not", "an", "object"]', '["not", "an", "object"]', False),
    ],
)
def test_parse_turn_answers_and_unusable_replies_become_content(text: str, content: str, final: bool) -> None:
    parsed = tp.parse_turn(text, TOOLS)
    assert (parsed.content, parsed.tool_calls, parsed.final) == (content, [], final)


def test_final_reply_messages_ask_for_the_system_prompts_format() -> None:
    rendered = tp.render_messages(HISTORY[:2], TOOLS)
    follow_up = tp.final_reply_messages(rendered, '{"name": "final_answer", "arguments": {"answer": "5"}}')

    assert follow_up[:-2] == rendered
    assert follow_up[-2]["role"] == "assistant"
    assert follow_up[-1] == {"role": "user", "content": tp.FINAL_REPLY_REQUEST}
    assert "format given in the system instructions" in tp.FINAL_REPLY_REQUEST


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "object"}),
        ({"type": "json_object", "schema": {"type": "array"}}, {"type": "array"}),
        ({"type": "json_schema", "json_schema": {"name": "r", "strict": True, "schema": {"type": "object"}}},
         {"type": "object"}),
    ],
)
def test_response_format_schema(response_format, schema) -> None:
    assert response_format_schema(response_format) == schema


@pytest.mark.parametrize(
    ("response_format", "message"),
    [
        ("json", "must be an object"),
        ({"type": "yaml"}, "Unsupported response_format type 'yaml'"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "needs json_schema.schema"),
    ],
)
def test_bad_response_formats_are_explained(response_format, message: str) -> None:
    with pytest.raises(ResponseFormatError, match=message):
        response_format_schema(response_format)


def test_json_grammar_keeps_the_schema_and_pins_compact_layout() -> None:
    judge = {"type": "object", "properties": {"score": {"type": "number"}, "explanation": {"type": "string"}},
             "required": ["score", "explanation"], "additionalProperties": False}
    grammar = json_grammar(judge)

    schema = json.loads(grammar.splitlines()[1].removeprefix("start: %json "))
    assert {k: v for k, v in schema.items() if k != "x-guidance"} == judge
    assert "x-guidance" not in judge


def test_free_text_grammar_forbids_opening_json_or_a_code_fence() -> None:
    assert "TEXT: /[^{`\\s]" in FREE_TEXT_GRAMMAR
