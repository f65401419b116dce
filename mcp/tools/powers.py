"""Powers and roots as MCP tools: power, square_root.

Thin wrappers over ``calc.powers``, which bounds result sizes before computing anything.
"""

from __future__ import annotations

from typing import Annotated

import calc
from pydantic import Field
from server import mcp

from ._common import Number, tool_errors


@mcp.tool
async def power(
    base: Annotated[Number, Field(description="The base.")],
    exponent: Annotated[Number, Field(description="The exponent; may be negative or fractional.")],
) -> int | float:
    """Raise base to exponent: base ** exponent (2 ** 10 returns 1024, 4 ** 0.5 returns 2).

    Whole results are exact integers; others are decimals rounded to 15 significant digits when
    they do not terminate. Results larger than 10**1000 are refused before being computed, as are
    a negative base with a fractional exponent and 0 to a negative power.

    Args:
        base: The base.
        exponent: The exponent; may be negative or fractional.
    """
    with tool_errors():
        return calc.power(base, exponent)


@mcp.tool
async def square_root(
    x: Annotated[Number, Field(description="A non-negative number.")],
) -> int | float:
    """Square root of x. Perfect squares give exact integers (144 returns 12, 2.25 returns 1.5);
    otherwise the result is rounded to 15 significant digits (10 returns 3.16227766016838).

    Args:
        x: A non-negative number.
    """
    with tool_errors():
        return calc.square_root(x)
