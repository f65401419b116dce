"""Powers and square roots: exact when the answer is exact, bounded before any big computation.

Why special care: ``10 ** (10**10)`` would try to build a ten-billion-digit integer and freeze the
server, so ``power`` estimates log10 of the result first and refuses anything beyond the limits
without computing it. Whole results stay exact Python ints (``math.isqrt`` for perfect squares,
``int ** int`` otherwise); irrational ones are computed with 40 digits and rounded to 15.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal, localcontext
from fractions import Fraction

from .convert import APPROX, EXACT, compute, is_integral, to_decimal, to_json_number
from .errors import CalculationError
from .limits import FLOAT_MIN_ABS, MAX_DIGITS

_ESTIMATE = Context(prec=30, Emax=999_999, Emin=-999_999)
#: log10 of the smallest non-integer result we can return (a normal double), minus one for slack.
_MIN_LOG10 = math.floor(math.log10(float(FLOAT_MIN_ABS))) - 1
#: Largest exact-power check (in digits of the numbers compared) worth doing for fractional exponents.
_MAX_CHECK_DIGITS = 20_000


def square_root(x: int | float) -> int | float:
    """Return the square root of x: an exact int for perfect squares, else a 15-digit float."""
    value = to_decimal(x, "x")
    if value < 0:
        raise CalculationError(
            f"Cannot take the square root of a negative number (x = {x!r}): the result is not real. "
            "Pass a number >= 0."
        )
    if is_integral(value):
        whole = int(value)
        root = math.isqrt(whole)
        if root * root == whole:
            return root
    return to_json_number(*compute(value.sqrt, APPROX))


def power(base: int | float, exponent: int | float) -> int | float:
    """Return base ** exponent, refusing results beyond 10**1000 before computing them."""
    b, e = to_decimal(base, "base"), to_decimal(exponent, "exponent")
    if b.is_zero():
        return _power_of_zero(e)
    if is_integral(e):
        return _integer_power(b, int(e))
    return _fractional_power(b, e)


def _power_of_zero(e: Decimal) -> int:
    if e < 0:
        raise CalculationError(
            "Cannot raise 0 to a negative power: that divides by zero. "
            "Use a non-negative exponent or a non-zero base."
        )
    return 1 if e.is_zero() else 0  # 0 ** 0 == 1, as in Python and most calculators


def _integer_power(b: Decimal, n: int) -> int | float:
    if b.copy_abs() == 1:
        return -1 if b < 0 and n % 2 else 1
    _refuse_out_of_range(b, Decimal(n))
    if n >= 0 and is_integral(b):
        return to_json_number(Decimal(int(b) ** n), exact=True)
    if n < 0:  # (1/q) ** -k == q ** k is whole exactly when 1/b is whole
        reciprocal, exact = compute(lambda: 1 / b, EXACT)
        if exact and is_integral(reciprocal):
            return to_json_number(Decimal(int(reciprocal) ** -n), exact=True)
    return to_json_number(*compute(lambda: b**n, APPROX))


def _fractional_power(b: Decimal, e: Decimal) -> int | float:
    if b < 0:
        raise CalculationError(
            "Cannot raise a negative base to a fractional exponent: the result is not a real "
            "number. Use an integer exponent or a non-negative base."
        )
    if b == 1:
        return 1
    _refuse_out_of_range(b, e)
    approx, exact = compute(lambda: b**e, APPROX)
    whole = _exact_whole_power(b, e, approx)
    if whole is not None:
        return to_json_number(Decimal(whole), exact=True)
    return to_json_number(approx, exact)


def _refuse_out_of_range(b: Decimal, e: Decimal) -> None:
    """Refuse |b ** e| > ~10**1000 or < ~1e-309 from log10 alone, before computing it."""
    with localcontext(_ESTIMATE):
        log10 = e * b.copy_abs().log10()
    if log10 > MAX_DIGITS + 1:
        raise CalculationError(
            f"The result is too large: base ** exponent would have about {_digits(log10)} digits, "
            f"and results are limited to |result| <= 10**{MAX_DIGITS}. Use a smaller base or exponent."
        )
    if log10 < _MIN_LOG10:
        raise CalculationError(
            f"The result is too close to zero (about 10**{_digits(log10, negative=True)}) to return "
            f"as a JSON float; non-zero results must be at least {float(FLOAT_MIN_ABS):.4g}."
        )


def _digits(log10: Decimal, negative: bool = False) -> str:
    """Human-readable size for error messages: 10000000001, or 1.00E+13 when absurdly large."""
    if abs(log10) < 10**12:
        return str(int(log10) if negative else int(log10) + 1)
    return f"{log10:.2E}"


def _exact_whole_power(b: Decimal, e: Decimal, approx: Decimal) -> int | None:
    """Return b ** e as an int when it is exactly a whole number (4 ** 0.5 == 2), else None.

    Decimal flags every fractional power as inexact, so a near-whole approximation is verified with
    exact rationals: with e = p/q, c is the answer iff c**q == b**p (skipped when that is huge).
    """
    candidate = approx.to_integral_value()
    if candidate.is_zero():
        return None
    with localcontext(APPROX):
        if (approx - candidate).copy_abs() > candidate.copy_abs() * Decimal("1e-25"):
            return None
    c = int(candidate)
    p, q = Fraction(e).as_integer_ratio()
    rb = Fraction(b)
    digits_c = q * (c.bit_length() * 0.302 + 1)
    digits_b = abs(p) * ((rb.numerator.bit_length() + rb.denominator.bit_length()) * 0.302 + 2)
    if max(digits_c, digits_b) > _MAX_CHECK_DIGITS:
        return None
    return c if rb**p == Fraction(c) ** q else None
