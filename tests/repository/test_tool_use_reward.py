"""tool_use_reward: a table of OpenAI-style transcripts and the score each must get."""

import inspect
import sys

import pytest
from helpers import REPO

if str(REPO) not in sys.path:  # the SDK imports content as `reward_fn.*` with the repo root on sys.path
    sys.path.insert(0, str(REPO))

from reward_fn.tool_use_reward import tool_use_reward  # noqa: E402

SYSTEM = {"role": "system", "content": "Use the tools. End with #### <number>."}
USER = {"role": "user", "content": "What is (2 + 3) * 4?"}


def call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def assistant(content: str | None = None, *calls: dict) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


def tool(call_id: str | None, content) -> dict:
    message = {"role": "tool", "content": content}
    if call_id is not None:
        message["tool_call_id"] = call_id
    return message


GROUNDED = [
    SYSTEM, USER,
    assistant(None, call("c1", "add", '{"a": 2, "b": 3}')), tool("c1", "5"),
    assistant("", call("c2", "multiply", '{"a": 5, "b": 4}')), tool("c2", "20"),
    assistant("(2 + 3) * 4 = 20\n#### 20"),
]  # fmt: skip

# Spraying: throwaway calls whose results hold the answer by chance, then the answer from memory.
LUCKY = [SYSTEM, USER, assistant(None, call("l1", "multiply", '{"a": 40, "b": 0.5}')), tool("l1", "20"),
         assistant("#### 20")]  # fmt: skip
SPRAY = [SYSTEM, USER,
         assistant(None, *(call(f"s{i}", "add", f'{{"a": {100 + i}, "b": {i - 80}}}') for i in range(1000))),
         *(tool(f"s{i}", str(20 + 2 * i)) for i in range(1000)), assistant("#### 20")]  # fmt: skip
CHAINED_SPRAY = GROUNDED[:-1] + [assistant(None, *(call(f"x{i}", "add", '{"a": 2, "b": 3}') for i in range(25))),
                                 *(tool(f"x{i}", "5") for i in range(25)), assistant("#### 20")]  # fmt: skip

# (name, messages, ground_truth, expected)
ROWS = [
    ("grounded in the last tool result", GROUNDED, "20", 1.0),
    ("the answer from a call off the chain (arguments from nowhere)", LUCKY, "20", 0.75),
    ("1,000 throwaway calls, one holding the answer by chance", SPRAY, "20", 0.5),
    ("grounded, then 25 more calls: spraying earns no more than memory", CHAINED_SPRAY, "20", 0.5),
    ("wrong answer with tools", GROUNDED[:-1] + [assistant("#### 21")], "20", 0.0),
    ("no marker with tools", GROUNDED[:-1] + [assistant("The answer is 20.")], "20", 0.0),
    ("hedged answer with tools", GROUNDED[:-1] + [assistant("#### 20 or 21")], "20", 0.0),
    (
        "both calls in one message, grounded",
        [
            SYSTEM,
            USER,
            assistant(None, call("a", "add", "{}"), call("b", "multiply", "{}")),
            tool("a", "5"),
            tool("b", "20"),
            assistant("#### 20"),
        ],
        "20",
        1.0,
    ),
    (
        "decorative tool call, answer from memory",
        [SYSTEM, USER, assistant(None, call("c1", "add", '{"a": 0, "b": 0}')), tool("c1", "0"), assistant("#### 20")],
        "20",
        0.75,
    ),
    (
        "non-numeric successful result",
        [SYSTEM, USER, assistant(None, call("c1", "lookup", "{}")), tool("c1", '{"rows": 3}'), assistant("#### 20")],
        "20",
        0.75,
    ),
    ("correct without tools", [SYSTEM, USER, assistant("#### 20")], "20", 0.5),
    ("correct without tools, markdown answer", [SYSTEM, USER, assistant("#### **20**")], "20", 0.5),
    ("wrong without tools", [SYSTEM, USER, assistant("#### 19")], "20", 0.0),
    (
        "one error then grounded",
        [
            SYSTEM,
            USER,
            assistant(None, call("c1", "add", "{bad json")),
            tool("c1", "Error: invalid JSON"),
            assistant(None, call("c2", "multiply", '{"a": 5, "b": 4}')),
            tool("c2", "20"),
            assistant("#### 20"),
        ],
        "20",
        0.9,
    ),
    (
        "five errors then grounded: penalty capped",
        [SYSTEM, USER]
        + [m for i in range(5) for m in (assistant(None, call(f"e{i}", "nope", "{}")), tool(f"e{i}", "Error: no"))]
        + [assistant(None, call("ok", "multiply", "{}")), tool("ok", "20"), assistant("#### 20")],
        "20",
        0.7,
    ),
    (
        "only errored tool calls, correct answer",
        [
            SYSTEM,
            USER,
            assistant(None, call("c1", "divide", '{"a": 1, "b": 0}')),
            tool("c1", "Error: division by zero"),
            assistant("#### 20"),
        ],
        "20",
        0.4,
    ),
    (
        "error content as a list of parts",
        [
            SYSTEM,
            USER,
            assistant(None, call("c1", "x", "{}")),
            tool("c1", [{"type": "text", "text": "Error: bad"}]),
            assistant("#### 20"),
        ],
        "20",
        0.4,
    ),
    (
        "result content as a list of parts",
        [
            SYSTEM,
            USER,
            assistant(None, call("c1", "x", "{}")),
            tool("c1", [{"type": "text", "text": "20"}]),
            assistant([{"type": "text", "text": "#### 20"}]),
        ],
        "20",
        1.0,
    ),
    (
        "ran out of turns while calling tools",
        [SYSTEM, USER, assistant("#### 20", call("c1", "add", "{}")), tool("c1", "20")],
        "20",
        0.0,
    ),
    (
        "last assistant still calling tools, earlier answer ignored",
        [SYSTEM, USER, assistant("#### 20"), assistant(None, call("c1", "add", "{}")), tool("c1", "20")],
        "20",
        0.0,
    ),
    (
        "tool message without a matching call does not count",
        [
            SYSTEM,
            USER,
            assistant(None, call("c1", "add", "{}")),
            tool("c1", "Error: x"),
            tool("forged", "20"),
            assistant("#### 20"),
        ],
        "20",
        0.4,
    ),
    (
        "tool result without any assistant call does not count",
        [SYSTEM, USER, tool("c9", "20"), assistant("#### 20")],
        "20",
        0.5,
    ),
    (
        "tool result without ids still counts when calls were made",
        [
            SYSTEM,
            USER,
            {"role": "assistant", "content": None, "tool_calls": [{"type": "function"}]},
            tool(None, "20"),
            assistant("#### 20"),
        ],
        "20",
        1.0,
    ),
    (
        "negative zero grounded",
        [SYSTEM, USER, assistant(None, call("c", "s", "{}")), tool("c", "-0"), assistant("#### 0")],
        "0",
        1.0,
    ),  # fmt: skip
    (
        "decimal grounded",
        [SYSTEM, USER, assistant(None, call("c", "d", "{}")), tool("c", "0.3"), assistant("#### 0.30")],
        "0.3",
        1.0,
    ),  # fmt: skip
    ("answer is in the user prompt only", [SYSTEM, {"role": "user", "content": "#### 20"}], "20", 0.0),
    ("no messages", [], "20", 0.0),
    ("only system and user", [SYSTEM, USER], "20", 0.0),
    ("unusable ground truth", GROUNDED, "twenty", 0.0),
    ("empty ground truth", GROUNDED, "", 0.0),
    ("None ground truth", GROUNDED, None, 0.0),
    ("messages is None", None, "20", 0.0),
    ("messages is a string", "#### 20", "20", 0.0),
    ("junk entries in the list", [None, 5, "x", {"role": 3}, assistant("#### 20")], "20", 0.5),
    ("assistant content None", [SYSTEM, USER, assistant(None)], "20", 0.0),
    ("assistant content not text", [SYSTEM, USER, {"role": "assistant", "content": {"a": 1}}], "20", 0.0),
    (
        "tool_calls not a list",
        [SYSTEM, USER, {"role": "assistant", "content": "#### 20", "tool_calls": "x"}],
        "20",
        0.0,
    ),  # fmt: skip
]


@pytest.mark.parametrize(("name", "messages", "ground_truth", "expected"), ROWS, ids=[row[0] for row in ROWS])
def test_table(name: str, messages, ground_truth, expected: float) -> None:
    score = tool_use_reward(messages=messages, ground_truth=ground_truth, metadata={"id": "row-1"})
    assert type(score) is float
    assert score == pytest.approx(expected, abs=1e-9)


def test_platform_style_call_with_data_source() -> None:
    assert tool_use_reward(messages=GROUNDED, ground_truth="20", metadata=None, data_source="calc") == 1.0


def test_discovered_as_a_full_mode_function() -> None:
    """The harness and platform pick full mode from the first parameter name, through __wrapped__."""
    params = list(inspect.signature(inspect.unwrap(tool_use_reward)).parameters)
    assert params[:3] == ["messages", "ground_truth", "metadata"]
    assert tool_use_reward.__wrapped__ is not tool_use_reward


def test_correct_with_tools_always_beats_correct_without() -> None:
    worst_with_tools = ROWS[[row[0] for row in ROWS].index("five errors then grounded: penalty capped")][3]
    best_without = ROWS[[row[0] for row in ROWS].index("correct without tools")][3]
    assert worst_with_tools > best_without
