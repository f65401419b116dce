"""The four basic operations as MCP tools: add, subtract, multiply, divide.

Thin wrappers: the schema (typed, described parameters) lives here, the exact maths in ``calc``.
The tools are ``async def``: they do no I/O and finish in microseconds (sizes are bounded), so they run
on the server's event loop; a plain ``def`` tool would be sent to a worker thread on every call.
"""

from __future__ import annotations

from typing import Annotated

import calc
from pydantic import Field
from server import mcp

from ._common import Number, tool_errors


@mcp.tool
async def add(
    a: Annotated[Number, Field(description="First addend.")],
    b: Annotated[Number, Field(description="Second addend.")],
) -> int | float:
    """Add two numbers exactly: a + b (0.1 + 0.2 returns 0.3).

    Whole results are integers of any size up to 10**1000; other results are decimals.

    Args:
        a: First addend.
        b: Second addend.
    """
    with tool_errors():
        return calc.add(a, b)


@mcp.tool
async def subtract(
    a: Annotated[Number, Field(description="The number to subtract from (minuend).")],
    b: Annotated[Number, Field(description="The number to subtract (subtrahend).")],
) -> int | float:
    """Subtract exactly: a - b (0.3 - 0.1 returns 0.2).

    Args:
        a: The number to subtract from (minuend).
        b: The number to subtract (subtrahend).
    """
    with tool_errors():
        return calc.subtract(a, b)


@mcp.tool
async def multiply(
    a: Annotated[Number, Field(description="First factor.")],
    b: Annotated[Number, Field(description="Second factor.")],
) -> int | float:
    """Multiply exactly: a * b (1.1 * 1.1 returns 1.21; big integers stay exact).

    Args:
        a: First factor.
        b: Second factor.
    """
    with tool_errors():
        return calc.multiply(a, b)


@mcp.tool
async def divide(
    a: Annotated[Number, Field(description="Dividend (the number to be divided).")],
    b: Annotated[Number, Field(description="Divisor; must be non-zero.")],
) -> int | float:
    """Divide: a / b. Exact when the quotient terminates (7 / 2 returns 3.5, 6 / 3 returns 2);
    otherwise rounded half-up to 15 significant digits (1 / 3 returns 0.333333333333333).

    Args:
        a: Dividend (the number to be divided).
        b: Divisor; must be non-zero.
    """
    with tool_errors():
        return calc.divide(a, b)
