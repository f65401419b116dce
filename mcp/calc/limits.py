"""Documented limits of the tools, in one place so docstrings, code and tests agree.

Why limits at all: Python integers are unbounded, so ``power(10, 10**10)`` would try to build a
ten-billion-digit number and stall the server. Every input and result is bounded, and ``power``
estimates the size of its result *before* computing it.
"""

from __future__ import annotations

import sys
from decimal import Decimal

#: Largest magnitude accepted for an input or returned as a result: |x| <= 10**1000 (1001 digits).
MAX_DIGITS = 1000
MAX_ABS = 10**MAX_DIGITS

#: Non-integer results are JSON floats (IEEE doubles); a decimal that a double cannot reproduce
#: exactly is rounded half-up to this many significant digits, the most every double round-trips.
FLOAT_SIGNIFICANT_DIGITS = 15

#: Non-integer results must be normal doubles: smallest and largest magnitudes.
FLOAT_MIN_ABS = Decimal(repr(sys.float_info.min))  # about 2.2e-308
FLOAT_MAX_ABS = Decimal(repr(sys.float_info.max))  # about 1.8e308

#: ``round_number``'s ``decimals`` range: tens of billions down to femto-units.
MIN_DECIMALS = -10
MAX_DECIMALS = 15
