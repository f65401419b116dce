"""Process-wide defaults that must be in place before litellm or fastmcp is imported.

litellm downloads a model price list at import time and FastMCP checks for updates; both would
reach for the internet. The harness promises to run offline, so it opts out here (setdefault, so a
user can still override either variable).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
os.environ.setdefault("LITELLM_LOG", "ERROR")
