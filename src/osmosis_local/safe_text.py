"""Text from outside (a model, a tool, a dataset, user code) made safe to write, print and score.

- `clean` replaces lone UTF-16 surrogates (half an emoji from a model's JSON, ``os.listdir``-style escaped
  bytes from a tool) with U+FFFD: such text cannot be encoded as UTF-8, so it would crash the transcript, the
  results file and the console. A Python string never holds a valid surrogate pair (JSON's escaped pairs decode
  to the real character), so every surrogate left is a lone one.
- `clean_tree` does the same inside nested dicts and lists (a message, a row's extra columns), and inside
  pydantic models; `model_json` is ``model_dump_json`` that falls back to a cleaned copy instead of raising.
- `safe_str` is ``str(value)`` that never raises (an exception whose ``__str__`` raises says so instead).
- `strip_controls` removes terminal control sequences (screen clears, titles, OSC 8 links) from text that is
  printed: text from outside must not drive the user's terminal.
- `bounded` cuts a text to a length and says how much was cut.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# ESC-based sequences (CSI ... final byte, OSC ... BEL/ST, other two-byte escapes) and the C0/C1 controls other
# than newline and tab.
_CONTROLS = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks), to BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # the remaining controls (\t and \n are kept)
)


def clean(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the same object when there is none)."""
    return _SURROGATE.sub(REPLACEMENT, text) if _SURROGATE.search(text) else text


def clean_tree(value: Any) -> Any:
    """`clean` applied to every string in nested dicts, lists, tuples and pydantic models (keys included)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_tree(v) for v in value]
    if hasattr(value, "model_copy") and hasattr(type(value), "model_fields"):  # a pydantic model
        fields = type(value).model_fields
        return value.model_copy(update={k: clean_tree(v) for k, v in vars(value).items() if k in fields})
    return value


def model_json(model: Any, *, indent: int | None = None) -> str:
    """``model.model_dump_json(indent=...)``; a model holding text that is not valid Unicode (a lone surrogate
    that slipped past the seams) is written as a cleaned copy rather than failing the write."""
    try:
        return str(model.model_dump_json(indent=indent))
    except ValueError:  # PydanticSerializationError: "surrogates not allowed"
        return str(clean_tree(model).model_dump_json(indent=indent))


def safe_str(value: object) -> str:
    """``str(value)``, cleaned; never raises."""
    try:
        return clean(str(value))
    except Exception:  # noqa: BLE001 - a broken __str__ is the caller's problem to report, not to crash on
        try:
            return f"<{type(value).__name__} whose str() raised>"
        except Exception:  # noqa: BLE001
            return "<unprintable value>"


def strip_controls(text: str) -> str:
    """``text`` without terminal control sequences (newlines and tabs kept)."""
    return _CONTROLS.sub("", text)


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
