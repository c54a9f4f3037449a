"""The prefilter matcher gives exactly what plain `re` gives; the shipped data is sound."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.matcher import Pattern, PrefilterMatcher, required_literals
from forensics.model import HYPOTHESES, STEPS
from forensics.signatures import load_signatures, load_steps

SIGS = load_signatures([])
PATTERNS = [Pattern(s.pattern, s.ignore_case) for s in SIGS]
MATCHER = PrefilterMatcher(PATTERNS)
COMPILED = [re.compile(p.regex, re.IGNORECASE if p.ignore_case else 0) for p in PATTERNS]
ROOT = Path(__file__).resolve().parents[2]
WORDS = ["container restart triggered", "PONG", "❌", "✅", "[08:33:46] ", "load average: 27.1, 3.0",
         "OOM", "Killed process 12", "RUNTIME CRASHED", "LLM path: PLATFORM-MANAGED", "Invalid API Key",
         "##[error]", "::error::", "workspace has no URL", "7a/11 ", "Error code: 401", "ß", "İ", " "]


def brute(text: str) -> list[int]:
    return [i for i, rx in enumerate(COMPILED) if rx.search(text)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=8))
def test_prefilter_equals_plain_re(parts: list[str]) -> None:
    text = "".join(parts)
    assert MATCHER.matches(text) == brute(text)


def test_every_corpus_line_matches_like_plain_re() -> None:
    for path in sorted((ROOT / "tests" / "forensics" / "corpus").rglob("*.log"))[:4]:
        for line in path.read_text(errors="replace").splitlines():
            assert MATCHER.matches(line) == brute(line), line


def test_required_literals_are_conservative() -> None:
    assert required_literals("container restart triggered") == ["container restart triggered"]
    assert required_literals("foo|bar baz") == ["bar baz", "foo"]
    assert required_literals(r"\d+") is None
    assert required_literals("(?i)Killed (process|task)") is not None
    for p in PATTERNS:
        lits = required_literals(p.regex)
        assert lits is None or all(lits), p.regex


def test_shipped_signatures_are_sound() -> None:
    ids = [s.id for s in SIGS]
    assert len(ids) == len(set(ids))
    for h in HYPOTHESES:
        assert any(s.hypothesis == h and s.direction == "for" and s.strength == 3 for s in SIGS), h
    for h in ("llm-401", "cold-boot-crash", "destructive-restart", "deploy-lag", "cpu-exhaustion"):
        assert any(s.hypothesis == h and s.direction == "against" for s in SIGS), h
    assert all(s.meaning for s in SIGS)
    infos, aliases = load_steps()
    assert set(infos) == set(STEPS)
    assert {a.step for a in aliases} == set(STEPS)


def test_grep_accepts_every_pattern() -> None:
    for s in SIGS:
        proc = subprocess.run(["grep", "-E", "-c", "-e", s.pattern, "/dev/null"], capture_output=True, text=True)
        assert proc.returncode in (0, 1), (s.id, proc.stderr)
