"""Credentials in URLs (``http://user:PASS@host``, ``?api_key=K``): sent as they should be (userinfo as HTTP Basic
auth, the query kept), and never in the console, ``-o``, the transcript, the report, the export or a rescore.

Real parts: the scripted-policy TEST DOUBLE behind a real HTTP endpoint on 127.0.0.1 (it records what the
client sent), the repository's tools and dataset, real files.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from helpers import NUMBERS, eval_argv

from osmosis_local.cli import main
from osmosis_local.redaction import Redactor, url_secrets

PASSWORD, QUERY_KEY, BASELINE_PASSWORD = "S3cret-Passw0rd", "QK-1234567890", "Base-L1ne-Pass"


def _with_credentials(base_url: str, user: str, password: str, query: str) -> str:
    scheme, rest = base_url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}?{query}"


def test_url_credentials_are_sent_as_auth_and_redacted_in_everything(
    tmp_path: Path, policy, capfd: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    url = _with_credentials(policy.base_url, "alice", PASSWORD, f"api_key={QUERY_KEY}")
    baseline = _with_credentials(policy.base_url, "bob", BASELINE_PASSWORD, "token=tok-0987654321")
    argv = eval_argv(url, tmp_path, "--baseline-model", "scripted", "--baseline-base-url", baseline, "--debug",
                     limit=2, quiet=False)  # fmt: skip
    assert main(argv) == 0
    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert expected in policy.auth_headers
    assert any(f"api_key={QUERY_KEY}" in path for path in policy.paths)  # the query reached the endpoint
    assert main(["view", str(tmp_path / "runs.jsonl"), "-o", str(tmp_path / "report.html")]) == 0
    assert main(["export", str(tmp_path / "runs.jsonl"), "-o", str(tmp_path / "runs.eval")]) == 0
    assert main(["rescore", str(tmp_path / "runs.jsonl"), "--eval-fn", NUMBERS, "-o", str(tmp_path / "re.json"),
                 "--log", str(tmp_path / "re.jsonl")]) == 0  # fmt: skip
    captured = capfd.readouterr()
    written = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file())
    for text in (captured.out, captured.err, written):
        for secret in (PASSWORD, QUERY_KEY, BASELINE_PASSWORD, "tok-0987654321"):
            assert secret not in text
    assert "***" in written


def test_an_api_key_wins_over_userinfo(tmp_path: Path, policy) -> None:  # type: ignore[no-untyped-def]
    url = _with_credentials(policy.base_url, "alice", PASSWORD, "x=1")
    assert main(eval_argv(url, tmp_path, "--api-key", "sk-flag-key-0123456789", limit=1)) == 0
    assert set(policy.auth_headers) == {"Bearer sk-flag-key-0123456789"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:PASS@host:8000/v1", "http://***@host:8000/v1"),
        ("https://h/v1?api_key=K123&x=1", "https://h/v1?api_key=***&x=1"),
        ("https://h/v1?x=1&access_token=abc#f", "https://h/v1?x=1&access_token=***#f"),
        ('{"url": "http://KEY12345@h/v1?sig=xyz"}', '{"url": "http://***@h/v1?sig=***"}'),
        ("mail user@example.com, a=b", "mail user@example.com, a=b"),
        ("(http://h/v1?token=abc123)", "(http://h/v1?token=***)"),
        ("[http://u:p@h/v1?api_key=K1]", "[http://***@h/v1?api_key=***]"),
        ("{url: http://h/v1?sig=s1}", "{url: http://h/v1?sig=***}"),
    ],
)
def test_url_credentials_are_masked_wherever_a_url_appears(text: str, shown: str) -> None:
    assert Redactor.of([])(text) == shown


def test_the_secrets_of_a_url_include_encoded_forms_but_not_a_bare_user_name() -> None:
    assert url_secrets("http://admin:p%40ss-word@h/v1?api_key=K1&model=m") == ["p@ss-word", "K1", "p%40ss-word"]
    assert url_secrets("http://sk-longkey-123@h/v1") == ["sk-longkey-123"]  # a user name alone is the key
    assert url_secrets("http://admin@h/v1") == []
