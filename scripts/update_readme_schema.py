"""Regenerate the `-o` and `check --format json` schema tables, and the probe table, in README.md from the models.

python scripts/update_readme_schema.py          # rewrite the blocks in place
python scripts/update_readme_schema.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from osmosis_local.checks import CheckReport
from osmosis_local.checks.reward_probes import probe_table
from osmosis_local.log.results import EvalResult, RolloutTestResult, schema_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = {"eval": EvalResult, "test": RolloutTestResult, "check": CheckReport}


def render(text: str) -> str:
    for marker, model in BLOCKS.items():
        pattern = re.compile(
            rf"(<!-- results-schema:{marker}:start -->\n).*?(<!-- results-schema:{marker}:end -->)", re.S
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md has no results-schema:{marker} block")
        text = pattern.sub(lambda m, model=model: m.group(1) + schema_markdown(model) + "\n" + m.group(2), text)
    probes = re.compile(r"(<!-- check-probes:start -->\n).*?(<!-- check-probes:end -->)", re.S)
    if not probes.search(text):
        raise SystemExit("README.md has no check-probes block")
    return probes.sub(lambda m: m.group(1) + probe_table() + "\n" + m.group(2), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when README.md is stale")
    args = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    updated = render(current)
    if args.check:
        return 0 if updated == current else 1
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
