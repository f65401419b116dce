"""Exact arithmetic behind the MCP tools, as plain functions with no MCP dependency.

Why a separate package: the tool modules stay thin wrappers (schema + error translation), and the
maths can be read and tested on its own. Every function takes ints/floats, works on exact
decimals, and returns a JSON-ready ``int`` or ``float`` (see ``convert.to_json_number``); bad input
raises ``CalculationError`` with a message a model can act on.
"""

from .basic import add, divide, modulo, multiply, round_number, subtract
from .errors import CalculationError
from .powers import power, square_root

__all__ = [
    "CalculationError",
    "add",
    "divide",
    "modulo",
    "multiply",
    "power",
    "round_number",
    "square_root",
    "subtract",
]
