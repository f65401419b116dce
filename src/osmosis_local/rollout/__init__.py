"""Remote Rollout: the agent-loop API, the RolloutServer and trainer mode (docs/contract.md §12).

The public names are those of the SDK 0.2.17's ``osmosis_ai.rollout``, so a loop written for it runs here
unchanged, and content written here runs under the SDK with
``try: from osmosis_ai.rollout import ... except ImportError: from osmosis_local.rollout import ...``.

- `osmosis_local.rollout.base`: `RolloutAgentLoop`, `RolloutContext`, `RolloutResult`, `CompletionsResult`;
- `osmosis_local.rollout.schemas`: the wire (`RolloutRequest`, `RolloutResponse`, the narrow tool models...);
- `osmosis_local.rollout.app` / `osmosis_local.rollout.server`: `create_app(agent_loop)`, the RolloutServer;
- `osmosis_local.rollout.mcp`: `MCPAgentLoop`, `load_mcp_server`;
- `osmosis_local.rollout.trainer`: the trainer's two callback endpoints (``eval --rollout-server``).
"""

from __future__ import annotations

from osmosis_local.rollout.app import create_app
from osmosis_local.rollout.base import CompletionsResult, RolloutAgentLoop, RolloutContext, RolloutResult
from osmosis_local.rollout.schemas import (
    CompletionsRequest,
    CompletionsResponse,
    InitResponse,
    OpenAIFunctionParametersSchema,
    OpenAIFunctionPropertySchema,
    OpenAIFunctionSchema,
    OpenAIFunctionToolSchema,
    RolloutMetrics,
    RolloutRequest,
    RolloutResponse,
    RolloutStatus,
)

__all__ = [
    "CompletionsRequest",
    "CompletionsResponse",
    "CompletionsResult",
    "InitResponse",
    "OpenAIFunctionParametersSchema",
    "OpenAIFunctionPropertySchema",
    "OpenAIFunctionSchema",
    "OpenAIFunctionToolSchema",
    "RolloutAgentLoop",
    "RolloutContext",
    "RolloutMetrics",
    "RolloutRequest",
    "RolloutResponse",
    "RolloutResult",
    "RolloutStatus",
    "create_app",
]
