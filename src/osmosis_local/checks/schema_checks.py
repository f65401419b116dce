"""Tool input schemas: what a provider (or the SDK's converter) rejects, and what the SDK's conversion loses.

The original SDK flattens each parameter to `{type, description?, enum?}` (docs/contract.md §4): it keeps
the first non-null `anyOf` member, turns `integer` into `number`, and drops array `items`, nested object
properties, defaults and constraints. A loss is not reported when the parameter's description already
says it (the constraint's or default's value appears in it; "integer" or "whole" for an integer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from osmosis_local.tools.schema import CONSTRAINT_KEYS

__all__ = ["SchemaProblem", "provider_problems", "sdk_losses", "resolve"]

PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class SchemaProblem:
    """One problem at a place in a tool's input schema."""

    path: str  # e.g. "numbers" or "options.mode"
    code: str
    message: str
    hint: str
    severity: Literal["error", "warning"] = "error"


def resolve(schema: Any, defs: Mapping[str, Any], depth: int = 0) -> Any:
    """Follow a local `$ref` (`#/$defs/X`, `#/definitions/X`)."""
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and depth < 32:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema, depth = defs.get(name, {}), depth + 1
    return schema


def _defs(schema: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), Mapping):
            found.update(schema[key])
    return found


def _walk(schema: Any, path: str, defs: Mapping[str, Any], seen: int = 0) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every subschema with its dotted path (array items as `path[]`)."""
    schema = resolve(schema, defs)
    if not isinstance(schema, Mapping) or seen > 64:
        return
    yield path, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key) or []:
            yield from _walk(member, path, defs, seen + 1)
    if isinstance(schema.get("items"), Mapping):
        yield from _walk(schema["items"], f"{path}[]", defs, seen + 1)
    for name, sub in (schema.get("properties") or {}).items():
        yield from _walk(sub, f"{path}.{name}" if path else name, defs, seen + 1)


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else [k for k in kind or [] if isinstance(k, str)]


def provider_problems(parameters: Mapping[str, Any]) -> list[SchemaProblem]:
    """Schema parts a provider (or the SDK's converter) refuses: each one fails every row."""
    problems: list[SchemaProblem] = []
    if parameters.get("type") != "object":
        problems.append(
            SchemaProblem(
                "",
                "schema-not-object",
                "the input schema's type is not 'object'",
                "tool parameters must be named arguments of the function",
            )
        )
        return problems
    defs = _defs(parameters)
    for path, schema in _walk(parameters, "", defs):
        where = path or "(parameters)"
        if "array" in _types(schema) and "items" not in schema and "prefixItems" not in schema:
            problems.append(
                SchemaProblem(
                    where,
                    "schema-array-without-items",
                    f"'{where}' is an array with no 'items' schema, which OpenAI rejects (every row fails)",
                    "annotate the element type, e.g. list[float] instead of list",
                )
            )
        if schema.get("items") == {}:
            problems.append(
                SchemaProblem(
                    where,
                    "schema-untyped-items",
                    f"'{where}' is a list of anything: the model is not told what the elements are",
                    "annotate the element type, e.g. list[float] instead of list",
                    "warning",
                )
            )
        enum = schema.get("enum")
        if enum is not None:
            if not isinstance(enum, list) or not enum:
                problems.append(
                    SchemaProblem(
                        where,
                        "schema-empty-enum",
                        f"'{where}' has an empty enum",
                        "list the allowed values, e.g. Literal['a', 'b']",
                    )
                )
            elif not all(isinstance(v, str) for v in enum):
                problems.append(
                    SchemaProblem(
                        where,
                        "schema-enum-not-strings",
                        f"'{where}' has a non-string enum {json.dumps(enum)[:80]}; the SDK's converter fails on it",
                        "use string values (Literal['1', '2'] or a str Enum) and convert inside the tool",
                    )
                )
        for name in schema.get("properties") or {}:
            if not PROPERTY_NAME.match(str(name)):
                problems.append(
                    SchemaProblem(
                        f"{path}.{name}" if path else str(name),
                        "schema-bad-property-name",
                        f"property name {str(name)[:70]!r} is not valid for providers (letters, digits, _ . -; 1-64)",
                        "rename the parameter",
                    )
                )
        required = schema.get("required") or []
        missing = [r for r in required if r not in (schema.get("properties") or {})]
        if missing and schema.get("type") == "object":
            problems.append(
                SchemaProblem(
                    where,
                    "schema-required-unknown",
                    f"'{where}' requires {missing} but does not define them",
                    "define the properties or drop them",
                )
            )
    return problems


def _said(description: str, value: Any) -> bool:
    text = json.dumps(value) if not isinstance(value, str) else value
    return bool(text) and text.lower() in description.lower()


def sdk_losses(parameters: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per top-level parameter, what the SDK's flattening drops that the description does not say."""
    defs = _defs(parameters)
    losses: dict[str, list[str]] = {}
    for name, raw in (parameters.get("properties") or {}).items():
        schema = resolve(raw, defs)
        if not isinstance(schema, Mapping):
            continue
        lost: list[str] = []
        members = [resolve(m, defs) for m in schema.get("anyOf") or schema.get("oneOf") or []]
        non_null = [m for m in members if isinstance(m, Mapping) and m.get("type") != "null"]
        if len(non_null) > 1:
            lost.append(f"all but the first of {len(non_null)} alternatives (anyOf)")
        chosen = non_null[0] if non_null else schema
        description = str(schema.get("description") or chosen.get("description") or "")
        types = [t for t in _types(chosen) if t != "null"]
        if len(types) > 1:
            lost.append(f"the types {types[1:]} (only {types[0]!r} is kept)")
        if "integer" in types[:1] and not re.search(r"integer|whole", description, re.IGNORECASE):
            lost.append("integer (sent as number: the model may send 2.5)")
        if "array" in types[:1] and "items" in chosen:
            lost.append("the array's item schema")
        if "object" in types[:1] and chosen.get("properties"):
            lost.append("the nested object's properties")
        for key in ("default", *CONSTRAINT_KEYS):
            for source in (schema, chosen):
                if key in source and not _said(description, source[key]):
                    lost.append(f"{key} {json.dumps(source[key])[:40]}")
                    break
        if lost:
            losses[str(name)] = list(dict.fromkeys(lost))
    return losses
