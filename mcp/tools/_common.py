"""Parameter types and error translation shared by the tool modules.

Why here: every tool takes numbers the same way and must turn a refused calculation into a
``ToolError`` the model can read (instead of a crash or a traceback). The leading underscore keeps
``main.py`` from treating this helper as a tool module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from calc import CalculationError
from fastmcp.exceptions import ToolError
from pydantic import BeforeValidator, GetJsonSchemaHandler
from pydantic_core import CoreSchema


def _reject_bool(value: Any) -> Any:
    """JSON true/false would silently become 1/0 in an int field; refuse it instead."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean; pass 1 or 0 instead of true/false")
    return value


def _json_number_only(value: Any) -> Any:
    """A number argument must be a finite JSON number: no booleans, no digit strings, no null/NaN/inf."""
    _reject_bool(value)
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise ValueError(f"expected a JSON number, got the string {shown!r}; send the number without quotes")
    if value is None:
        raise ValueError("expected a number, got null (NaN and Infinity are not JSON numbers; send a finite number)")
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value}")
    return value


class _PlainNumberSchema:
    """Render ``int | float`` as ``{"type": "number", "description": ...}``, not ``anyOf``.

    The Osmosis SDK keeps only the first ``anyOf`` branch of a parameter and so would drop its
    description; JSON Schema's ``number`` already includes integers. (pydantic's
    ``WithJsonSchema`` is not used because it also discards the ``Field`` description.)
    """

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        rendered = {key: value for key, value in handler(schema).items() if key != "anyOf"}
        rendered["type"] = "number"
        return rendered


#: Put after ``Field(...)`` in an ``int`` annotation to refuse booleans; placed after the Field so
#: pydantic still renders ``ge``/``le`` as ``minimum``/``maximum`` in the schema.
NO_BOOLEANS = BeforeValidator(_reject_bool)
#: A JSON number: ints stay Python ints (any size up to 10**1000), floats are read exactly. Booleans,
#: digit strings ("12"), null and NaN/Infinity are refused with a message saying what to send instead.
Number = Annotated[int | float, BeforeValidator(_json_number_only), _PlainNumberSchema()]


@contextmanager
def tool_errors() -> Iterator[None]:
    """Re-raise refused calculations as ``ToolError`` so the client gets a clear, non-fatal error."""
    try:
        yield
    except CalculationError as exc:
        raise ToolError(str(exc)) from exc
    except ArithmeticError as exc:  # a decimal signal we did not anticipate: still not a crash
        raise ToolError(
            f"The calculation could not be completed ({type(exc).__name__}: {exc}). "
            "Check that the inputs are finite numbers within the documented limits."
        ) from exc
