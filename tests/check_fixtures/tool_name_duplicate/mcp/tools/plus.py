"""Addition again, registered under the name of arithmetic's tool (what `new tool add` used to allow)."""

from typing import Annotated

from pydantic import Field
from server import mcp


@mcp.tool(name="add")
def plus(
    x: Annotated[float, Field(description="First addend.")],
    y: Annotated[float, Field(description="Second addend.")],
) -> float:
    """Add two numbers."""
    return x + y
