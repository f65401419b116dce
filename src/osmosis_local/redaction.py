"""Secret redaction for everything the harness prints or writes: API keys become ``***``.

One `Redactor` per run knows the run's keys. It works on finished text (a JSON line, a console line, a
traceback), so a record is serialised once and redacted once. Key-shaped strings (``sk-...``) are masked
even when the key is not known, e.g. one echoed back by a provider for another account. Credentials in URLs are
masked wherever a URL appears: the user and password of ``scheme://user:pass@host`` and the value of a query
parameter named like a secret (``?api_key=``, ``&token=``, ``&sig=``...).
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
_URL_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@\"'<>?#]+@")
_SECRET_PARAM = re.compile(
    r"([?&;](?:[A-Za-z0-9_\-]*(?:key|token|secret|password|passwd|pwd|auth|signature|credential)[A-Za-z0-9_\-]*"
    r"|sig|code)=)[^&#\s\"'<>\\()\[\]{}]+",  # a bracket ends the value: "(url?token=x)" keeps its ")"
    re.IGNORECASE,
)


def url_secrets(url: str | None) -> list[str]:
    """The credentials a URL holds (userinfo, and secret-named query values), for a `Redactor` to know."""
    if not url:
        return []
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    # A user name alone is often the key itself (``http://KEY@host``); next to a password it is just a name, and
    # masking a name like "admin" everywhere would garble the output (the URL pattern masks it in URLs anyway).
    user = parts.username if parts.username and not parts.password and len(parts.username) >= 8 else None
    found = [unquote(v) for v in (user, parts.password) if v]
    found += [v for name, v in parse_qsl(parts.query) if v and _SECRET_PARAM.match(f"?{name}={v}")]
    return [*found, *(quote_form for v in found if (quote_form := _quoted(v)) != v)]


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


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
        if "://" in text and "@" in text:
            text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
        if "=" in text:
            text = _SECRET_PARAM.sub(rf"\1{MASK}", text)
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
