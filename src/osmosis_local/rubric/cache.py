"""Opt-in on-disk cache of judge verdicts, so re-scoring an unchanged answer costs no request.

Enabled by ``model_info["cache"]`` (``True`` → the default directory, a path → that directory) or by
the environment variable ``OSMOSIS_RUBRIC_CACHE_DIR``; ``model_info["cache"] = False`` turns it off
even when the variable is set. The key is a SHA-256 over everything that can change the verdict:
provider, model, endpoint, rubric, system prompt, the whole user prompt (which embeds every input) and
the score range. Entries hold the verdict only — never the API key — and are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "OSMOSIS_RUBRIC_CACHE_DIR"
CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    base = os.getenv("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "osmosis-local" / "rubric"


def resolve_cache_dir(setting: Any) -> Path | None:
    """Where to cache for this call, or None when caching is off."""
    if setting is False:
        return None
    if isinstance(setting, (str, os.PathLike)) and str(setting).strip():
        return Path(setting).expanduser()
    env_dir = os.getenv(CACHE_ENV, "").strip()
    if env_dir:
        return Path(env_dir).expanduser()
    if setting is True:
        return default_cache_dir()
    if setting is None:
        return None
    raise TypeError(f"model_info['cache'] must be True, False or a directory path, got {type(setting).__name__}.")


def cache_key(**parts: Any) -> str:
    """Stable hash of the parts (JSON with sorted keys)."""
    payload = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class VerdictCache:
    """One JSON file per key under ``<dir>/<key[:2]>/<key>.json``; unreadable entries count as misses."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("score"), (int, float)):
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, ensure_ascii=False, default=str)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
