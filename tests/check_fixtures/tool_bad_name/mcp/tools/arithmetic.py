"""Addition for the fixture."""

from typing import Annotated

from pydantic import Field
from server import mcp


@mcp.tool(name="add numbers")
def add(
    a: Annotated[float, Field(description="First addend.")],
    b: Annotated[float, Field(description="Second addend.")],
) -> float:
    """Add two numbers and return the sum."""
    return a + b
