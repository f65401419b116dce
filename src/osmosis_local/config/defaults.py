"""Default values of the run settings, shared by the command line (which must import fast) and `config`."""

from __future__ import annotations

DEFAULT_TEST_MODEL = "gpt-5-mini"
DEFAULT_MAX_TURNS = 10
DEFAULT_REQUEST_TIMEOUT_S = 120.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_TOOL_TIMEOUT_S = 30.0
DEFAULT_REWARD_TIMEOUT_S = 300.0  # an eval function's call (a rubric's judge included, with its retries)
