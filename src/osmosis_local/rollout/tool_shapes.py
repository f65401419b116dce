"""Our lossless tool schemas (`ToolSpec`) in the SDK 0.2.17's narrow shape (`OpenAIFunctionToolSchema`), and back.

The narrow model keeps, per parameter, only a string ``type``, a ``description`` and a string ``enum``
(docs/contract.md §12, weak spot 4). `narrow_tool` produces it from the full JSON Schema the harness offers and
says, per parameter, what could not be carried (array ``items``, nested ``properties``, bounds, defaults, a
non-string ``enum``, unions), so `check` can report it; ``integer`` stays ``integer`` (the SDK's converter
turned it into ``number``). `widen_tool` turns a narrow tool (what a trainer receives in the 202) into the
`ToolSpec` sent to the policy model.
"""

from __future__ import annotations

from typing import Any

from osmosis_local.rollout.schemas import (
    OpenAIFunctionParametersSchema,
    OpenAIFunctionPropertySchema,
    OpenAIFunctionSchema,
    OpenAIFunctionToolSchema,
)
from osmosis_local.types import ToolSpec

_CARRIED = frozenset({"type", "description", "enum"})


def _narrow_property(name: str, schema: Any) -> tuple[OpenAIFunctionPropertySchema, list[str]]:
    if not isinstance(schema, dict):
        return OpenAIFunctionPropertySchema(type="string"), [f"{name}: the schema is not an object; sent as a string"]
    losses: list[str] = []
    current = schema
    if "anyOf" in current and "type" not in current:
        options = [o for o in current["anyOf"] if isinstance(o, dict) and o.get("type") != "null"]
        if len(options) > 1:
            losses.append(f"{name}: a union of {len(options)} schemas; only the first is sent")
        current = {**(options[0] if options else {}), **{k: v for k, v in current.items() if k != "anyOf"}}
    raw_type = current.get("type", "string")
    if isinstance(raw_type, list):
        types = [t for t in raw_type if isinstance(t, str) and t != "null"]
        if len(types) > 1:
            losses.append(f"{name}: types {types}; only {types[0]!r} is sent")
        raw_type = types[0] if types else "string"
    if not isinstance(raw_type, str):
        losses.append(f"{name}: type {raw_type!r} is not a string; sent as a string")
        raw_type = "string"
    enum = current.get("enum")
    if enum is not None and not all(isinstance(v, str) for v in enum):
        losses.append(f"{name}: enum {enum!r} holds non-strings; dropped")
        enum = None
    dropped = sorted(k for k in current if k not in _CARRIED and k != "anyOf")
    if dropped:
        losses.append(f"{name}: {', '.join(dropped)} cannot be carried")
    description = current.get("description")
    prop = OpenAIFunctionPropertySchema(
        type=raw_type, description=description if isinstance(description, str) else None, enum=enum
    )
    return prop, losses


def narrow_tool(spec: ToolSpec) -> tuple[OpenAIFunctionToolSchema, list[str]]:
    """The SDK's shape of one tool, and a line per parameter feature it cannot carry."""
    function = spec["function"]
    parameters = function.get("parameters") or {}
    properties: dict[str, OpenAIFunctionPropertySchema] = {}
    losses: list[str] = []
    for name, schema in (parameters.get("properties") or {}).items():
        properties[name], lost = _narrow_property(name, schema)
        losses.extend(lost)
    # additionalProperties: false is what a non-strict OpenAI tool means anyway: nothing is lost without it
    extra = sorted(k for k in parameters if k not in ("type", "properties", "required", "additionalProperties"))
    if extra:
        losses.append(f"the parameters' {', '.join(extra)} cannot be carried")
    description = function.get("description") or f"Tool: {function['name']}"
    return (
        OpenAIFunctionToolSchema(
            type="function",
            function=OpenAIFunctionSchema(
                name=function["name"],
                description=description,
                parameters=OpenAIFunctionParametersSchema(
                    type="object", properties=properties, required=list(parameters.get("required") or [])
                ),
            ),
        ),
        losses,
    )


def narrow_tools(specs: list[ToolSpec]) -> list[OpenAIFunctionToolSchema]:
    """`narrow_tool` of each, losses dropped (`check` reports them)."""
    return [narrow_tool(spec)[0] for spec in specs]


def widen_tool(tool: OpenAIFunctionToolSchema) -> ToolSpec:
    """A narrow tool as the OpenAI ``tools`` entry offered to a model (null fields left out)."""
    function = tool.function
    properties = {name: prop.model_dump(exclude_none=True) for name, prop in function.parameters.properties.items()}
    return {
        "type": "function",
        "function": {
            "name": function.name,
            "description": function.description,
            "parameters": {"type": "object", "properties": properties, "required": list(function.parameters.required)},
        },
    }
