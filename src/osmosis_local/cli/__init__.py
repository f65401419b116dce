"""The command line `osmosis-local`: argparse only at import time, each command's work imported when it runs."""

from __future__ import annotations

from osmosis_local.cli.app import build_parser, entry, main

__all__ = ["build_parser", "entry", "main"]
