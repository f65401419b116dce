"""The four operations, modulo and rounding, computed on exact decimals.

Why not plain ``a + b``: floats would make 0.1 + 0.2 == 0.30000000000000004 and
round(2.675, 2) == 2.67; ints are fine but have no size limit. Each function reads its inputs with
``to_decimal`` (exact, bounded), computes under a high-precision context that tracks exactness,
and returns ``to_json_number`` of the result.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .convert import compute, to_decimal, to_json_number
from .errors import CalculationError
from .limits import MAX_DECIMALS, MIN_DECIMALS


def add(a: int | float, b: int | float) -> int | float:
    """Return a + b exactly."""
    x, y = to_decimal(a, "a"), to_decimal(b, "b")
    return to_json_number(*compute(lambda: x + y))


def subtract(a: int | float, b: int | float) -> int | float:
    """Return a - b exactly."""
    x, y = to_decimal(a, "a"), to_decimal(b, "b")
    return to_json_number(*compute(lambda: x - y))


def multiply(a: int | float, b: int | float) -> int | float:
    """Return a * b exactly."""
    x, y = to_decimal(a, "a"), to_decimal(b, "b")
    return to_json_number(*compute(lambda: x * y))


def divide(a: int | float, b: int | float) -> int | float:
    """Return a / b: exact when the quotient terminates, else rounded to 15 significant digits."""
    x, y = to_decimal(a, "a"), to_decimal(b, "b")
    if y.is_zero():
        raise CalculationError("Cannot divide by zero: b must be non-zero.")
    return to_json_number(*compute(lambda: x / y))


def modulo(a: int | float, b: int | float) -> int | float:
    """Return a mod b with Python's sign rule (the result takes the sign of b), exactly."""
    x, y = to_decimal(a, "a"), to_decimal(b, "b")
    if y.is_zero():
        raise CalculationError("Cannot take a remainder modulo zero: b must be non-zero.")

    def floor_mod() -> Decimal:
        remainder = x % y  # Decimal's remainder takes the sign of the dividend
        if remainder and (remainder < 0) != (y < 0):
            remainder += y
        return remainder

    return to_json_number(*compute(floor_mod))


def round_number(x: int | float, decimals: int = 0) -> int | float:
    """Round x to ``decimals`` places, halves away from zero (2.5 -> 3, 2.675 -> 2.68)."""
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise CalculationError(f"decimals must be an integer, got {decimals!r}.")
    if not MIN_DECIMALS <= decimals <= MAX_DECIMALS:
        raise CalculationError(
            f"decimals must be between {MIN_DECIMALS} and {MAX_DECIMALS}, got {decimals}. "
            "Use 0 for a whole number, 2 for hundredths, -3 for thousands."
        )
    value = to_decimal(x, "x")
    quantum = Decimal(1).scaleb(-decimals)
    rounded, _ = compute(lambda: value.quantize(quantum, rounding=ROUND_HALF_UP))
    return to_json_number(rounded, exact=True)  # the rounding is the requested result, not an error
