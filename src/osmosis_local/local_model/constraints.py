"""Grammars (llguidance Lark) that constrain what the local model may emit.

We pass `grammar` rather than `response_format` to llama.cpp: the `%json` form lets us pin a compact
JSON layout (no pretty-printing, so no tokens spent on whitespace), and one code path serves both
the tool protocol and the judge's `response_format`.
"""

from __future__ import annotations

import json
from typing import Any

from osmosis_local.local_model.errors import LocalModelError

# llguidance option: one fixed JSON layout, so no tokens go to indentation.
COMPACT_JSON = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}

# Plain prose for the final reply: it may not open with "{" or "`", which would restart the JSON
# protocol or a code fence instead of answering.
FREE_TEXT_GRAMMAR = "%llguidance {}\nstart: TEXT\nTEXT: /[^{`\\s][^\\x00]*/\n"


class ResponseFormatError(LocalModelError):
    """The request's `response_format` is not one this engine understands (an HTTP 400)."""


def json_grammar(schema: dict[str, Any]) -> str:
    """A grammar admitting exactly the JSON documents valid under `schema`, compactly laid out."""
    if not isinstance(schema, dict):
        raise ResponseFormatError("A JSON schema must be an object.")
    compact = dict(schema)
    compact.setdefault("x-guidance", COMPACT_JSON)
    return "%llguidance {}\nstart: %json " + json.dumps(compact, ensure_ascii=False)


def response_format_schema(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema an OpenAI `response_format` asks for, or None for plain text.

    `json_schema` uses its `schema` (strict or not: decoding is always exact); `json_object` means
    any JSON object, or the optional llama.cpp-style `schema` it carries.
    """
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise ResponseFormatError("response_format must be an object such as {\"type\": \"json_object\"}.")
    kind = response_format.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        schema = response_format.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise ResponseFormatError("response_format json_schema needs json_schema.schema (an object).")
        return schema
    raise ResponseFormatError(
        f"Unsupported response_format type {kind!r}; use 'text', 'json_object' or 'json_schema'."
    )
