"""`osmosis-local check`: what the platform and the original SDK will discover in a content repository."""

from osmosis_local.checks.checker import CheckConfig, check_repository
from osmosis_local.checks.findings import CheckReport, Finding

__all__ = ["CheckConfig", "CheckReport", "Finding", "check_repository"]
