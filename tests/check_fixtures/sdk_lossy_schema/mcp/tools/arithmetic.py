"""Addition for the fixture."""

from typing import Annotated

from pydantic import Field
from server import mcp


@mcp.tool
def add(
    a: Annotated[float, Field(description="First addend.")],
    times: Annotated[int, Field(description="How often to add it.", ge=1, le=10)] = 1,
) -> float:
    """Add a number to itself several times."""
    return a * (times + 1)
