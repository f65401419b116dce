"""Tool modules of the fixture: a second module registers a tool under a name arithmetic already has."""

from tools import arithmetic, plus  # noqa: F401
