"""The one exception the arithmetic raises, so callers can tell bad input from bugs."""


class CalculationError(ValueError):
    """Input the tools refuse (division by zero, NaN, results beyond the limits, ...).

    The message is shown to the model verbatim, so it says what is wrong and how to fix it.
    """
