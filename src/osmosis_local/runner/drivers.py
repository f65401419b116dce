"""How one rollout runs, behind one interface (`RolloutDriver`), whatever the mode of the run.

- `McpDriver`: the built-in MCP agent loop over the run's tools (``--mcp`` / ``--mcp-url``);
- `osmosis_local.runner.agent_loop_driver.AgentLoopDriver`: a `RolloutAgentLoop` in this process (``-m``);
- `osmosis_local.runner.remote_driver.RemoteDriver`: a RolloutServer over HTTP, the runner playing the
  trainer (``--rollout-server``).

Each gives a `RolloutOutcome`, which the session scores and records the same way. Also here: the
`RolloutRequest` a row becomes (ids and metadata as the SDK sends them, docs/contract.md §5) and the
`RolloutOutcome` a Remote Rollout result becomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from osmosis_local.config.settings import RunConfig
from osmosis_local.content.dataset import DatasetRow
from osmosis_local.llm.chat_model import ChatModel
from osmosis_local.log.records import ToolCallRecord
from osmosis_local.runner.agent_loop import RolloutOutcome, StepHook, ToolCaller, ToolsHook, run_rollout
from osmosis_local.types import Message, ToolSpec

Command = Literal["test", "eval"]


class RolloutDriver(Protocol):
    """One rollout of a row on a model; never raises for the model's, the tools' or the agent's faults."""

    tools: list[ToolSpec]  # what the policy is offered (the run's fingerprint; interactive mode lists them)
    warnings: list[str]

    async def run(
        self,
        row: DatasetRow,
        *,
        model: ChatModel,
        tag: str,
        seed: int | None,
        run_index: int,
        command: Command,
        on_step: StepHook | None = None,
        on_tools: ToolsHook | None = None,
    ) -> RolloutOutcome: ...


@dataclass
class McpDriver:
    """The built-in loop (`run_rollout`) over the tools of an MCP server."""

    tools: list[ToolSpec]
    tool_caller: ToolCaller
    max_turns: int
    warnings: list[str] = field(default_factory=list)

    async def run(
        self,
        row: DatasetRow,
        *,
        model: ChatModel,
        tag: str,
        seed: int | None,
        run_index: int,
        command: Command,
        on_step: StepHook | None = None,
        on_tools: ToolsHook | None = None,
    ) -> RolloutOutcome:
        return await run_rollout(
            system_prompt=row.system_prompt,
            user_prompt=row.user_prompt,
            model=model,
            tools=self.tools,
            tool_caller=self.tool_caller,
            max_turns=self.max_turns,
            seed=seed,
            on_step=on_step,
            on_tools=on_tools,
        )


def rollout_id(row: DatasetRow, *, command: Command, run_index: int, tag: str) -> str:
    """``test-<row>``, or ``eval-<row>-run-<k>`` (``-baseline`` for the baseline's), as the SDK names them."""
    if command == "test":
        return f"test-{row.row_index}"
    return f"eval-{row.row_index}-run-{run_index}" + ("" if tag == "primary" else f"-{tag}")


def rollout_metadata(row: DatasetRow, *, command: Command, run_index: int, tag: str) -> dict[str, Any]:
    """The request metadata of a row: its ground truth, index and extra columns, and how it is run."""
    metadata: dict[str, Any] = {"ground_truth": row.ground_truth, "row_index": row.row_index, **row.extra}
    metadata["execution_mode"] = command
    if command == "test":
        metadata["test_mode"] = True
    else:
        metadata["run_index"] = run_index
    if tag != "primary":
        metadata["model_tag"] = tag
    return metadata


def rollout_request(
    row: DatasetRow,
    config: RunConfig,
    *,
    command: Command,
    run_index: int,
    tag: str,
    server_url: str,
    api_key: str | None = None,
    idempotency_key: str | None = None,
) -> Any:
    """The `RolloutRequest` of a row (raises pydantic's ValidationError for metadata over 1 MB or not JSON)."""
    from osmosis_local.rollout.schemas import RolloutRequest

    return RolloutRequest(
        rollout_id=rollout_id(row, command=command, run_index=run_index, tag=tag),
        server_url=server_url,
        messages=[{"role": "system", "content": row.system_prompt}, {"role": "user", "content": row.user_prompt}],
        completion_params=dict(config.params()),
        max_turns=config.max_turns,
        metadata=rollout_metadata(row, command=command, run_index=run_index, tag=tag),
        api_key=api_key,
        idempotency_key=idempotency_key,
    )


def tool_calls_of(messages: Sequence[Any]) -> list[ToolCallRecord]:
    """The tool calls of a conversation (each assistant call with the tool message that answered it)."""
    answers = {
        m.get("tool_call_id"): m for m in messages if isinstance(m, dict) and m.get("role") == "tool"
    }  # fmt: skip
    records = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            answer = answers.get(call.get("id"))
            content = str(answer.get("content", "")) if answer is not None else ""
            records.append(
                ToolCallRecord(
                    call_id=str(call.get("id") or ""),
                    name=str((function or {}).get("name") or ""),
                    arguments=(function or {}).get("arguments"),
                    content=content,
                    is_error=answer is None or content.startswith("Error"),
                    duration_ms=0.0,
                )
            )
    return records


def outcome_of_result(
    messages: list[Any],
    *,
    status: str,
    finish_reason: str | None,
    error: str | None,
    reward: float | None,
    prompt_tokens: int,
    completion_tokens: int,
    num_llm_calls: int,
    duration_ms: float,
    systemic: bool = False,
) -> RolloutOutcome:
    """A Remote Rollout result (``COMPLETED`` / ``ERROR``) as the runner's `RolloutOutcome`."""
    failed = status != "COMPLETED" or error is not None
    return RolloutOutcome(
        messages=as_messages([m for m in messages if isinstance(m, dict)]),
        finish_reason=(finish_reason or "stop") if not failed else "error",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        num_llm_calls=num_llm_calls,
        duration_ms=duration_ms,
        tool_calls=tool_calls_of(messages),
        error=(error or "the agent loop reported an error") if failed else None,
        systemic=systemic,
        reward=reward,
    )


def as_messages(messages: list[dict[str, Any]]) -> list[Message]:
    """Wire message dicts as the typed conversation (they are sent and recorded as they came)."""
    from typing import cast

    return cast(list[Message], messages)
