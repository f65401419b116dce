"""Secret redaction for everything the harness prints or writes: API keys become ``***``.

One `Redactor` per run knows the run's keys. It works on finished text (a JSON line, a console line, a
traceback), so a record is serialised once and redacted once. Key-shaped strings (``sk-...``) are masked
even when the key is not known, e.g. one echoed back by a provider for another account.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MASK = "***"
MIN_SECRET_LENGTH = 4
_KEY_SHAPED = re.compile(r"(sk-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]{8,}")


def _forms(secret: str) -> set[str]:
    """The secret as written, and as it appears inside a JSON string (escaped)."""
    return {secret, json.dumps(secret)[1:-1]}


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret (and anything shaped like an ``sk-`` key) in a text."""

    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, secrets: Iterable[str | None]) -> Redactor:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms |= _forms(secret)
        # Longest first, so a key that contains another key is masked whole.
        return cls(tuple(sorted(forms, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _KEY_SHAPED.sub(rf"\1{MASK}", text)


NO_SECRETS = Redactor()


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every one of ``secrets`` (and anything shaped like an ``sk-`` key) masked."""
    return Redactor.of(secrets)(text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (message, traceback, exception chain) passes through a `Redactor`."""

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


@contextlib.contextmanager
def redacting_logging(redactor: Redactor, *, level: int = logging.DEBUG) -> Iterator[None]:
    """``--debug``: log to stderr at ``level`` for the block, every line redacted (keys echoed in provider
    errors too); the previous logging set-up is restored afterwards."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(redactor, "%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(level)
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
