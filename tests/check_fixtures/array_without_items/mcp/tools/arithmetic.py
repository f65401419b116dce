"""Addition for the fixture."""

from typing import Annotated

from pydantic import Field, WithJsonSchema
from server import mcp


@mcp.tool
def add(
    values: Annotated[list, WithJsonSchema({"type": "array", "description": "Numbers to add."})],
) -> float:
    """Add a list of numbers and return the sum."""
    return float(sum(values))


_ = Field
