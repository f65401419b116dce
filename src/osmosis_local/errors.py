"""Every error type a caller may catch, and the process exit codes: the one module every layer may import.

`MissingAPIKeyError`, `ProviderRequestError` and `ModelNotFoundError` are named as in the SDK contract (the
judge raises them); `SetupError` is a problem found before the first rollout; `LogReadError` a transcript
log or results file that cannot be used (`view`, `export`, `rescore`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a set-up error, a systemic provider error, an eval function that raised on every run
EXIT_USAGE = 2  # bad arguments, or --resume with a log of other settings
EXIT_FAIL_UNDER = 3  # eval --fail-under not met
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class MissingAPIKeyError(RuntimeError):
    """No API key could be resolved for a provider that needs one."""


class ProviderRequestError(RuntimeError):
    """A model provider request failed (transport, HTTP error, or an unusable reply)."""

    def __init__(self, provider: str, model: str, detail: str) -> None:
        self.provider = provider
        self.model = model
        self.detail = detail
        super().__init__(f"Provider '{provider}' request for model '{model}' failed. {detail}")


class ModelNotFoundError(ProviderRequestError):
    """The provider does not know the requested model."""


class HarnessError(Exception):
    """A problem the harness reports as one line that says what to fix (never a traceback)."""


class SetupError(HarnessError):
    """A problem found before any rollout ran; the message says what to fix."""


class SettingsMismatchError(SetupError):
    """`--resume` was given a log made with other settings."""


class LogReadError(HarnessError):
    """A transcript log or results file that is missing or cannot be used (`view`, `export`, `rescore`)."""


class OutputPathError(SetupError):
    """An output path that would destroy an input, cannot be written, or names a log another run owns (exit 2)."""


class LogWriteError(HarnessError):
    """The transcript log could not be written (a full disk, a folder made read-only): the run stops, saying so."""
