"""Addition for the fixture, with its helper imported lazily."""

from typing import Annotated

from pydantic import Field
from server import mcp


@mcp.tool
def add(
    a: Annotated[float, Field(description="First addend.")],
    b: Annotated[float, Field(description="Second addend.")],
) -> float:
    """Add two numbers and return the sum."""
    import server  # noqa: F401  (fine locally; the SDK has forgotten `server` by the time a tool runs)

    return a + b
