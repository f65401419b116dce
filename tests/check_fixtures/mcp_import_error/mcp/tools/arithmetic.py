"""Addition for the fixture."""

from typing import Annotated

from pydantic import Feild
from server import mcp


@mcp.tool
def add(
    a: Annotated[float, Feild(description="First addend.")],
    b: Annotated[float, Feild(description="Second addend.")],
) -> float:
    """Add two numbers and return the sum."""
    return a + b
