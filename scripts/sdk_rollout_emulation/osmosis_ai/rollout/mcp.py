"""Stand-in for ``osmosis_ai.rollout.mcp`` (SDK 0.2.17): the SDK's loader, and `MCPAgentLoop` reading FastMCP 2's
private tool registry as the SDK does (the code follows ``scripts/sdk_mcp_loader.py``, the faithful emulation)."""

import sys
from pathlib import Path

from osmosis_ai.rollout import RolloutAgentLoop

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # scripts/, for sdk_mcp_loader
import sdk_mcp_loader  # noqa: E402

sys.path.pop(0)

MCPLoadError = sdk_mcp_loader.LoadError


def load_mcp_server(mcp_path):
    return sdk_mcp_loader.load_mcp_server(mcp_path)[0]


class MCPAgentLoop(RolloutAgentLoop):
    name = "mcp_agent"

    def __init__(self, mcp_server, agent_name="mcp_agent"):
        self.name = agent_name
        self._tool_manager = mcp_server._tool_manager
        self._openai_schemas = [
            sdk_mcp_loader.mcp_tool_to_openai(tool.name, tool.description or "", tool.parameters)
            for tool in self._tool_manager._tools.values()
        ]

    def get_tools(self, request):
        return list(self._openai_schemas)
