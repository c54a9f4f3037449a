"""Redaction: secret values become [REDACTED]; everything else survives verbatim."""

import pytest

from forensics.redact import MARK, Redactor, redact

SECRET_LINES = [
    ('curl -H "Authorization: Bearer abcdef123456" https://x', "abcdef123456"),
    ("Authorization: token ghp_abcdefghijklmnopqrstuv", "ghp_abcdefghijklmnopqrstuv"),
    ("OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef", "sk-or-v1-0123456789abcdef"),
    ("GET /ws?token=supersecret42&a=1", "supersecret42"),
    ('{"admin_token":"tok_12345678"}', "tok_12345678"),
    ("aws key AKIAABCDEFGHIJKLMNOP in env", "AKIAABCDEFGHIJKLMNOP"),
    ("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9 end",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9"),
]


@pytest.mark.parametrize(("line", "secret"), SECRET_LINES)
def test_secret_is_replaced_and_the_rest_kept(line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out
    assert MARK in out
    for piece in out.split(MARK):
        assert piece in line


def test_ordinary_words_are_not_redacted() -> None:
    line = "token budget exceeded; the api key rotation ran; status=online"
    assert redact(line) == line


def test_literal_secrets_are_redacted_even_without_a_known_shape() -> None:
    redactor = Redactor(["plainvalue-xyz"])
    assert redactor("got plainvalue-xyz back") == f"got {MARK} back"
