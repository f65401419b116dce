"""Remainder and rounding as MCP tools: modulo, round_number.

Thin wrappers over ``calc.basic``; both work on the exact decimal, so modulo(0.3, 0.1) is 0 and
round_number(2.675, 2) is 2.68 (binary floats would give 0.09999999999999998 and 2.67).
"""

from __future__ import annotations

from typing import Annotated

import calc
from calc.limits import MAX_DECIMALS, MIN_DECIMALS
from pydantic import Field
from server import mcp

from ._common import NO_BOOLEANS, Number, tool_errors


@mcp.tool
async def modulo(
    a: Annotated[Number, Field(description="Dividend.")],
    b: Annotated[Number, Field(description="Divisor; must be non-zero.")],
) -> int | float:
    """Remainder of a divided by b, exact, with the sign of b as in Python
    (7 mod 3 returns 1, -7 mod 3 returns 2, 5.5 mod 2 returns 1.5).

    Args:
        a: Dividend.
        b: Divisor; must be non-zero.
    """
    with tool_errors():
        return calc.modulo(a, b)


@mcp.tool
async def round_number(
    x: Annotated[Number, Field(description="The number to round.")],
    decimals: Annotated[
        int,
        Field(
            description=(
                f"Decimal places to keep, {MIN_DECIMALS} to {MAX_DECIMALS}; 0 rounds to a whole "
                "number, negative values round to tens, hundreds, ..."
            ),
            ge=MIN_DECIMALS,
            le=MAX_DECIMALS,
        ),
        NO_BOOLEANS,
    ] = 0,
) -> int | float:
    """Round x to a number of decimal places, halves away from zero (school rounding, not
    banker's): 2.5 returns 3, -2.5 returns -3, 2.675 with decimals=2 returns 2.68.

    Args:
        x: The number to round.
        decimals: Decimal places to keep, -10 to 15; 0 rounds to a whole number, negative values
            round to tens, hundreds, ...
    """
    with tool_errors():
        return calc.round_number(x, decimals)
