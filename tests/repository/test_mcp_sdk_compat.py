"""mcp/ under the *real* platform path: the Osmosis SDK loader on FastMCP 2.14.5.

Why: osmosis-ai 0.2.17 pins fastmcp 2.14.5 and reads the private ``server._tool_manager._tools``;
our venv has FastMCP 4.x, where that attribute does not even exist. This test builds (once, then
reuses) a scratch venv with FastMCP 2.14.5 and runs ``scripts/sdk_mcp_loader.py`` there, a faithful
emulation of the SDK's loader, schema conversion and in-process tool calls.

The venv (`mcp_servers.fastmcp2_python`) lives at ``$OSMOSIS_FASTMCP2_VENV`` or ``<repo>/.venv-fastmcp2``
(git-ignored). It is created with ``uv`` (next to the running Python, or on PATH); if that fails the test
fails with the reason -- it is never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from mcp_servers import MCP_DIR, REPO_ROOT, TOOL_NAMES, fastmcp2_python


@pytest.fixture(scope="module")
def sdk_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = fastmcp2_python()
    env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)  # nothing from our venv or src/ may leak into the 2.14.5 run
    done = subprocess.run(
        [str(python), str(REPO_ROOT / "scripts" / "sdk_mcp_loader.py"), "--mcp-dir", str(MCP_DIR)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path_factory.mktemp("sdk"),
    )
    assert done.returncode == 0, f"loader failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_sdk_loader_finds_all_tools_with_descriptions(sdk_report: dict[str, Any]) -> None:
    assert sdk_report["fastmcp_version"] == "2.14.5"
    assert (sdk_report["server_name"], sdk_report["attribute"]) == ("OsmosisTools", "mcp")
    assert sdk_report["sys_path_restored"] is True
    assert sdk_report["validation_errors"] == []
    functions = [tool["function"] for tool in sdk_report["tools"]]
    assert [f["name"] for f in functions] == TOOL_NAMES
    for function in functions:
        assert function["description"] and not function["description"].startswith("Tool: "), function
        properties = function["parameters"]["properties"]
        for name, schema in properties.items():
            assert schema["type"] == "number", (function["name"], name, schema)
            assert schema.get("description"), f"{function['name']}.{name} lost its description"
    round_number = functions[TOOL_NAMES.index("round_number")]
    assert round_number["parameters"]["required"] == ["x"]


def test_sdk_tool_calls_return_what_the_model_would_see(sdk_report: dict[str, Any]) -> None:
    calls = {(c["name"], json.dumps(c["arguments"], sort_keys=True)): c for c in sdk_report["calls"]}

    def content(name: str, **arguments: Any) -> tuple[bool, str]:
        call = calls[(name, json.dumps(arguments, sort_keys=True))]
        return call["is_error"], call["content"]

    assert content("add", a=2, b=3) == (False, "5")
    assert content("add", a=0.1, b=0.2) == (False, "0.3")
    assert content("divide", a=1, b=3) == (False, "0.333333333333333")
    assert content("round_number", x=2.675, decimals=2) == (False, "2.68")
    assert content("round_number", x=-2.5) == (False, "-3")
    assert content("power", base=2, exponent=200) == (False, str(2**200))
    assert content("square_root", x=2.25) == (False, "1.5")
    assert content("modulo", a=-7, b=3) == (False, "2")
    is_error, text = content("add", a=True, b=1)
    assert is_error and "boolean" in text
    assert content("divide", a=1, b=0) == (True, "Error: Cannot divide by zero: b must be non-zero.")
    is_error, text = content("power", base=10, exponent=10**10)
    assert is_error and text.startswith("Error: The result is too large")
    assert content("not_a_tool") == (True, "Error: Tool 'not_a_tool' not found")
