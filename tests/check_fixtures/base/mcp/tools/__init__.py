"""Tool modules of the fixture."""

from tools import arithmetic  # noqa: F401
