"""Rounding helpers (should have been _helpers.py)."""


def round_to(value: float, places: int) -> float:
    return round(value, places)
