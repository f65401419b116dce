"""Numbers in and out: ints/floats to exact ``Decimal`` and back to a JSON number.

Why: binary floats make 0.1 + 0.2 == 0.30000000000000004. Reading each float through its shortest
repr (``Decimal(repr(x))``) gives the decimal the caller wrote, so the arithmetic is exact. On the
way out, a JSON number must be an ``int`` or a ``float``; this module decides which, and refuses
results that cannot be returned faithfully.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, Inexact, localcontext

from .errors import CalculationError
from .limits import FLOAT_MAX_ABS, FLOAT_MIN_ABS, FLOAT_SIGNIFICANT_DIGITS, MAX_ABS, MAX_DIGITS

#: Enough digits that sums, products, quotients and remainders of in-range inputs are exact
#: (an in-range integer quotient has at most 1001 digits; float inputs span 10**-324..10**308).
EXACT = Context(prec=5000, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
#: Working precision for irrational results (roots, fractional powers) before the final rounding.
APPROX = Context(prec=40, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
_TO_FLOAT = Context(prec=FLOAT_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)


def to_decimal(value: object, name: str) -> Decimal:
    """Read one numeric argument exactly, refusing booleans, NaN, infinity and huge integers."""
    if isinstance(value, bool):
        raise CalculationError(f"{name} must be a number, not a boolean; pass 1 or 0 instead of {value}.")
    if isinstance(value, int):
        if abs(value) > MAX_ABS:
            raise CalculationError(
                f"{name} is too large: integers are limited to |{name}| <= 10**{MAX_DIGITS} "
                f"({MAX_DIGITS + 1} digits). Use a smaller number."
            )
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalculationError(
                f"{name} must be a finite number, got {value!r}; NaN and infinity are not supported."
            )
        return Decimal(repr(value))
    raise CalculationError(f"{name} must be an int or a float, got {type(value).__name__}.")


def compute(operation: Callable[[], Decimal], context: Context = EXACT) -> tuple[Decimal, bool]:
    """Run ``operation`` under ``context`` and report whether its result is exact (no rounding)."""
    with localcontext(context) as ctx:
        ctx.clear_flags()
        result = operation()
        return result, not ctx.flags[Inexact]


def is_integral(value: Decimal) -> bool:
    """True when ``value`` has no fractional part."""
    return value == value.to_integral_value()


_MAX_ABS = Decimal(MAX_ABS)  # made once: comparing with the int converts its 1001 digits every time (~18 us)


def check_magnitude(value: Decimal) -> None:
    """Refuse results above the 10**1000 limit."""
    if value.copy_abs() > _MAX_ABS:  # copy_abs: abs() would round to the ambient precision
        digits = value.adjusted() + 1
        raise CalculationError(
            f"The result is too large: it has about {digits} digits, and results are limited to "
            f"|result| <= 10**{MAX_DIGITS}. Use smaller inputs."
        )


def to_json_number(value: Decimal, exact: bool) -> int | float:
    """Turn a result into a JSON number without silently losing digits.

    * exact and whole -> ``int`` (any size up to 10**1000);
    * otherwise -> ``float``: the decimal itself when a double reproduces it exactly (its shortest
      repr is the same decimal, e.g. 0.3), else the decimal rounded half-up to 15 significant
      digits (e.g. 1/3 -> 0.333333333333333);
    * a non-integer outside the normal double range (about 2.2e-308 to 1.8e308) is refused.
    """
    check_magnitude(value)
    if exact and is_integral(value):
        return int(value)
    candidate = float(value)
    if not (math.isfinite(candidate) and Decimal(repr(candidate)) == value):
        candidate = float(_TO_FLOAT.plus(value))
    magnitude = Decimal(repr(candidate)).copy_abs() if math.isfinite(candidate) else FLOAT_MAX_ABS * 2
    if magnitude > FLOAT_MAX_ABS:
        raise CalculationError(
            "The result has a fractional part and is too large to return as a JSON float "
            f"(|result| must stay below {float(FLOAT_MAX_ABS):.4g} for non-integers). Round or "
            "shrink the inputs."
        )
    if magnitude < FLOAT_MIN_ABS:
        raise CalculationError(
            "The result is too close to zero to return as a JSON float "
            f"(non-zero results must be at least {float(FLOAT_MIN_ABS):.4g} in magnitude)."
        )
    return candidate
