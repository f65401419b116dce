"""MCP tool definitions -> OpenAI function tools that keep the tools' JSON Schema.

The JSON Schema of each tool is passed on, with only the changes providers need (the SDK
flattens every property to `{type, description, enum}`, losing array `items`, nested objects,
defaults and `integer`; see docs/contract.md §4 and weak spots 5-6):

- local `$ref` (`#/$defs/...`, `#/definitions/...`) is inlined; recursive refs become `{}`;
- `anyOf`/`oneOf` `[X, {"type": "null"}]` becomes `X` (optional-ness is already expressed by
  `required`), a `null` in a `type` list is dropped, and a `default: null` left behind goes too;
- a single-member `allOf` is merged; tuple `prefixItems` become an `items` schema;
- keys outside `_KEPT_KEYS` (`title`, `$schema`, `examples`, `x-*`, ...) are dropped;
- an `array` without `items` gets `items: {}` and a warning instead of failing every row.

Tools are read through the public client API (`list_tools`), so mounted servers and enable/disable
flags are honoured (docs/contract.md, weak spot 6).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from osmosis_local.types import ToolSpec

__all__ = [
    "TOOL_NAME_PATTERN",
    "ToolSchemaError",
    "convert_tool",
    "convert_tools",
    "load_openai_tools",
    "tools_fingerprint",
]

TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# JSON Schema keywords passed on to the provider; anything else is dropped.
#: JSON Schema constraint keywords (kept here; dropped by the SDK's flattening, see `checks.schema_checks`).
CONSTRAINT_KEYS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "pattern", "format", "minItems", "maxItems", "const",
)  # fmt: skip
_KEPT_KEYS = frozenset(
    {"type", "description", "enum", "default", "items", "properties", "required", "additionalProperties", "anyOf",
     "uniqueItems", *CONSTRAINT_KEYS}
)  # fmt: skip


class ToolSchemaError(ValueError):
    """A tool can't be offered to an OpenAI-compatible provider (bad name or parameters)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("Tool validation error: " + "; ".join(errors))


def convert_tools(tools: Iterable[Any]) -> tuple[list[ToolSpec], list[str]]:
    """Convert `mcp.types.Tool` objects (or dicts with name/description/inputSchema).

    Returns `(openai_tools, warnings)` in the server's order. Raises `ToolSchemaError` listing
    every invalid tool (names must match `^[A-Za-z0-9_-]{1,64}$`, parameters must be an object
    schema) and duplicate names.
    """
    out: list[ToolSpec] = []
    warnings: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for tool in tools:
        try:
            converted, tool_warnings = convert_tool(tool)
        except ToolSchemaError as exc:
            errors.extend(exc.errors)
            continue
        name = converted["function"]["name"]
        if name in seen:
            errors.append(f"two tools are named '{name}'; tool names must be unique")
            continue
        seen.add(name)
        out.append(converted)
        warnings.extend(tool_warnings)
    if errors:
        raise ToolSchemaError(errors)
    return out, warnings


def convert_tool(tool: Any) -> tuple[ToolSpec, list[str]]:
    """Convert one tool to `{"type": "function", "function": {name, description, parameters}}`."""
    name, description, schema = _tool_fields(tool)
    errors: list[str] = []
    if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
        errors.append(
            f"tool name {name!r} is invalid: OpenAI function names must match "
            f"{TOOL_NAME_PATTERN.pattern} (letters, digits, '_' and '-', 1-64 characters); "
            "rename the tool"
        )
    if schema is None:
        schema = {"type": "object", "properties": {}}
    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        kind = schema.get("type") if isinstance(schema, Mapping) else type(schema).__name__
        errors.append(f"tool {name!r}: parameters must be an object schema, got type {kind!r}")
    if errors:
        raise ToolSchemaError(errors)

    warnings: list[str] = []
    defs = _collect_defs(schema)
    params = _Cleaner(str(name), defs, warnings).clean(schema, path="")
    params["type"] = "object"
    params.setdefault("properties", {})
    if not isinstance(description, str) or not description.strip():
        description = f"Tool: {name}"
    return (
        {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": params},
        },
        warnings,
    )


def tools_fingerprint(tools: list[ToolSpec]) -> str:
    """SHA-256 of the offered tool schemas, so a resumed eval can tell the tools changed."""
    return hashlib.sha256(json.dumps(tools, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


async def load_openai_tools(source: Any) -> tuple[list[ToolSpec], list[str]]:
    """List a server's tools through `fastmcp.Client` and convert them.

    `source` is a FastMCP server (a client is opened and closed here) or an already-connected
    `fastmcp.Client` (e.g. the one a `ToolRunner` holds).
    """
    import fastmcp

    if isinstance(source, fastmcp.Client):
        return convert_tools(await source.list_tools())
    async with fastmcp.Client(source) as client:
        return convert_tools(await client.list_tools())


# --------------------------------------------------------------------------------------------


def _tool_fields(tool: Any) -> tuple[Any, Any, Any]:
    if isinstance(tool, Mapping):
        schema = tool.get("inputSchema", tool.get("input_schema", tool.get("parameters")))
        return tool.get("name"), tool.get("description"), schema
    schema = getattr(tool, "input_schema", None)  # mcp >= 2 names it input_schema
    if schema is None:
        schema = getattr(tool, "inputSchema", None)  # mcp 1.x
    return getattr(tool, "name", None), getattr(tool, "description", None), schema


def _collect_defs(schema: Mapping[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        block = schema.get(key)
        if isinstance(block, Mapping):
            for def_name, def_schema in block.items():
                defs[f"#/{key}/{def_name}"] = def_schema
    return defs


class _Cleaner:
    """Recursive schema rewrite for one tool; records warnings with a dotted parameter path."""

    def __init__(self, tool: str, defs: dict[str, Any], warnings: list[str]) -> None:
        self.tool = tool
        self.defs = defs
        self.warnings = warnings

    def warn(self, path: str, message: str) -> None:
        where = f"parameter '{path}'" if path else "parameters"
        self.warnings.append(f"tool '{self.tool}': {where} {message}")

    def clean(self, schema: Any, *, path: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if schema is True or schema is None:
            return {}
        if schema is False or not isinstance(schema, Mapping):
            self.warn(path, f"has an unusable schema {schema!r}; sending an unconstrained one")
            return {}
        schema = dict(schema)

        ref = schema.pop("$ref", None)
        if isinstance(ref, str):
            target = self.defs.get(ref)
            if target is None:
                self.warn(path, f"uses a $ref {ref!r} that can't be resolved; sending {{}}")
                base: dict[str, Any] = {}
            elif ref in stack:
                self.warn(path, f"is recursive ({ref}); the recursion is sent unconstrained")
                base = {}
            else:
                base = self.clean(target, path=path, stack=(*stack, ref))
            siblings = self.clean(schema, path=path, stack=stack)  # description, default...
            return {**base, **siblings}

        all_of = schema.pop("allOf", None)
        if isinstance(all_of, list) and len(all_of) == 1:
            merged = self.clean(all_of[0], path=path, stack=stack)
            rest = self.clean(schema, path=path, stack=stack)
            return {**merged, **rest}
        if all_of is not None:
            self.warn(path, "uses allOf with several schemas; sending an unconstrained schema")
            schema.pop("type", None)

        for key in ("anyOf", "oneOf"):
            options = schema.pop(key, None)
            if not isinstance(options, list):
                continue
            non_null = [o for o in options if not _is_null_schema(o)]
            dropped_null = len(non_null) != len(options)
            if len(non_null) == 1:
                inner = self.clean(non_null[0], path=path, stack=stack)
                rest = self.clean(schema, path=path, stack=stack)
                merged = {**inner, **rest}
            elif not non_null:
                merged = self.clean(schema, path=path, stack=stack)
            else:
                rest = self.clean(schema, path=path, stack=stack)
                merged = {"anyOf": [self.clean(o, path=path, stack=stack) for o in non_null], **rest}
            if dropped_null:
                _drop_null(merged)
            return merged

        out: dict[str, Any] = {}
        type_ = schema.get("type")
        if isinstance(type_, list):
            kept = [t for t in type_ if t != "null"]
            if len(kept) != len(type_):
                _drop_null(schema)
            type_ = kept[0] if len(kept) == 1 else (kept or None)
            if type_ is None:
                schema.pop("type")
            else:
                schema["type"] = type_

        for key, value in schema.items():
            if key not in _KEPT_KEYS and key != "prefixItems":
                continue
            if key == "properties" and isinstance(value, Mapping):
                out["properties"] = {
                    str(prop): self.clean(sub, path=_join(path, str(prop)), stack=stack)
                    for prop, sub in value.items()
                }
            elif key == "items":
                if isinstance(value, list):  # draft-4 tuple form
                    out["items"] = self._tuple_items(value, path, stack)
                else:
                    out["items"] = self.clean(value, path=_join(path, "[]"), stack=stack)
            elif key == "prefixItems" and isinstance(value, list):
                if "items" not in schema or schema.get("items") is False:
                    out["items"] = self._tuple_items(value, path, stack)
            elif key == "additionalProperties" and isinstance(value, Mapping):
                out[key] = self.clean(value, path=_join(path, "{}"), stack=stack)
            elif key == "anyOf":  # only reached for anyOf nested via recursion
                continue
            else:
                out[key] = copy.deepcopy(value)

        if isinstance(out.get("required"), list) and "properties" in out:
            out["required"] = [r for r in out["required"] if r in out["properties"]]
        if _has_type(out, "array") and "items" not in out:
            self.warn(path, "is an array without `items`; sending `items: {}` (any item)")
            out["items"] = {}
        if "type" in out:  # readability only: type first, as people write schemas
            out = {"type": out.pop("type"), **out}
        return out

    def _tuple_items(self, items: list[Any], path: str, stack: tuple[str, ...]) -> dict[str, Any]:
        cleaned = [self.clean(i, path=_join(path, "[]"), stack=stack) for i in items]
        unique: list[dict[str, Any]] = []
        for c in cleaned:
            if c not in unique:
                unique.append(c)
        if len(unique) == 1:
            return unique[0]
        return {"anyOf": unique} if unique else {}


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null" and len(
        [k for k in schema if k not in ("type", "title", "description")]
    ) == 0


def _drop_null(schema: dict[str, Any]) -> None:
    """After removing the null branch, a `default: null` / `null` enum member no longer fits."""
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    if isinstance(schema.get("enum"), list):
        schema["enum"] = [v for v in schema["enum"] if v is not None]


def _has_type(schema: Mapping[str, Any], name: str) -> bool:
    t = schema.get("type")
    return t == name or (isinstance(t, list) and name in t)


def _join(path: str, part: str) -> str:
    if part in ("[]", "{}"):
        return f"{path}{part}"
    return f"{path}.{part}" if path else part
