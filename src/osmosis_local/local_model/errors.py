"""Errors of the embedded model, each phrased as what is wrong plus how to fix it."""

from __future__ import annotations


class LocalModelError(RuntimeError):
    """The embedded model cannot be used (missing extra, bad weights, engine failure)."""


class WeightsIntegrityError(LocalModelError):
    """Assembled weights do not match the pinned size or SHA-256; they are never loaded."""
