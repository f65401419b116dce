"""Addition for the fixture."""

from typing import Annotated, Literal

from pydantic import Field
from server import mcp


@mcp.tool
def add(
    a: Annotated[float, Field(description="First addend.")],
    precision: Annotated[Literal[0, 1, 2], Field(description="Decimal places of the result.")],
) -> float:
    """Add a number to itself, rounded."""
    return round(a + a, precision)
