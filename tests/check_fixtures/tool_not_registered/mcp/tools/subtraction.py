"""Subtraction: added, but tools/__init__.py was not updated."""

from typing import Annotated

from pydantic import Field
from server import mcp


@mcp.tool
def subtract(
    a: Annotated[float, Field(description="Minuend.")],
    b: Annotated[float, Field(description="Subtrahend.")],
) -> float:
    """Return a - b."""
    return a - b
