"""Secret redaction, applied everywhere output leaves the process.

Invariant: redaction only *replaces* secret values with the literal ``[REDACTED]``;
every other character of the input survives in order, so each piece between
markers is a verbatim substring of the original line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "[REDACTED]"

# Each pattern's group "secret" is what gets replaced; the rest is kept.
_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Authorization headers (HTTP, curl -H, JSON, Python repr): keep the scheme word.
        r"authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|token|basic)\s+)?(?P<secret>[^\s\"',}]+)",
        r"\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{6,})",
        # Provider / forge keys.
        r"(?P<secret>\bsk-[A-Za-z0-9_-]{8,})",
        r"(?P<secret>\bgh[pousr]_[A-Za-z0-9]{16,})",
        r"(?P<secret>\bgithub_pat_[A-Za-z0-9_]{20,})",
        r"(?P<secret>\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)",
        r"(?P<secret>\bxox[abprs]-[A-Za-z0-9-]{10,})",
        # JSON Web Tokens (session / API tokens printed bare, without a Bearer word).
        r"(?P<secret>\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
        # key=value and "key": "value" shapes (query strings, env dumps, JSON bodies).
        r"(?:[?&;\s\"'{,]|^)(?:[a-z0-9_]*(?:token|api[_-]?key|apikey|secret|password|passwd))[\"']?\s*[=:]\s*[\"']?(?P<secret>[^\s\"'&,;}]{4,})",
        r"x-api-key[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\s\"',}]+)",
        # Header / env names with dashes or the secret word inside (X-Molecule-Admin-Token:,
        # aws_secret_access_key = ..., private-key=...).
        r"(?:[\s\"'{,(]|^)[a-z0-9_-]*(?:token|api[_-]?key|secret|passw(?:or)?d|access[_-]?key|private[_-]?key|credential)[a-z0-9_-]*[\"']?[ \t]*[:=][ \t]*[\"']?(?P<secret>[^\s\"'&,;}]{6,})",
        r"\bcookie[\"']?\s*:\s*[^=\s;]+=(?P<secret>[^;\s\"']{6,})",
    )
)


def _already(value: str) -> bool:
    return value.startswith(MARK) or value in {"***", "[REDACTED]", "<redacted>", "REDACTED"} or set(value) <= {"*", "x", "X", "."}


class Redactor:
    """Replaces secrets by pattern, plus any literal values it was told about."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self._literals: set[str] = set()
        for value in literals:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Remember a literal secret (a token the process holds). Short values are ignored."""
        if value and len(value) >= 6:
            self._literals.add(value)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if not text:
            return text
        for value in sorted(self._literals, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MARK)
        for pattern in _PATTERNS:
            text = pattern.sub(_replace_secret, text)
        return text


def _replace_secret(match: re.Match[str]) -> str:
    secret = match.group("secret")
    if _already(secret):
        return match.group(0)
    start, end = match.span("secret")
    base = match.start(0)
    whole = match.group(0)
    return whole[: start - base] + MARK + whole[end - base :]


_DEFAULT = Redactor()


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Redact known secret shapes (and the given literal values) from ``text``."""
    if extra:
        return Redactor(extra).redact(text)
    return _DEFAULT.redact(text)
