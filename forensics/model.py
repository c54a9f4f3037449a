"""Records shared by every stage of the pipeline.

Invariants:
- Every `Evidence`/`Event` points at a real line: `source` is the path exactly as the
  user gave it, `line` is 1-based in that file (file read as bytes, gunzipped for .gz,
  decoded UTF-8 with errors="replace", split on "\\n" only, one trailing "\\r" dropped).
- `text` is ANSI-stripped and redacted (secrets -> "[REDACTED]"); nothing else is reworded.
- `Analysis.hypotheses` always holds all five ids, in `HYPOTHESES` order; at most one is
  PINNED, and it is the `primary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

SCHEMA = "rca/v1"

HYPOTHESES: tuple[str, ...] = (
    "llm-401",
    "cold-boot-crash",
    "cpu-exhaustion",
    "destructive-restart",
    "deploy-lag",
)

STEPS: tuple[str, ...] = (
    "preflight",
    "provision",
    "routing",
    "image-roundtrip",
    "terminal",
    "config-put",
    "pong",
    "known-answer",
    "teardown",
)


class Verdict(str, Enum):
    PINNED = "pinned"
    SUPPORTED = "supported"
    NOT_EVIDENCED = "not-evidenced"
    RULED_OUT = "ruled-out"


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


def format_ts(ts: datetime | None) -> str | None:
    """UTC ISO-8601 with a trailing Z (second precision kept, micros when present)."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts.isoformat() + "Z"


@dataclass(frozen=True, slots=True)
class Record:
    """One physical line of one source."""

    source: str
    line: int
    ts: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """A record that matched a signature (or a structural rule such as a step marker)."""

    source: str
    line: int
    ts: datetime | None
    kind: str
    text: str
    signature: str | None = None   # signature id from the TOML data
    hypothesis: str | None = None  # one of HYPOTHESES, or None
    direction: str | None = None   # "for" | "against" | None
    step: str | None = None        # one of STEPS, or None
    meaning: str | None = None     # one line, human: what this line tells us

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "ts": format_ts(self.ts),
            "kind": self.kind,
            "text": self.text,
            "signature": self.signature,
            "hypothesis": self.hypothesis,
            "direction": self.direction,
            "step": self.step,
            "meaning": self.meaning,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    source: str
    line: int
    text: str
    ts: datetime | None = None
    meaning: str | None = None
    direction: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "text": self.text,
            "ts": format_ts(self.ts),
            "meaning": self.meaning,
            "direction": self.direction,
        }


@dataclass(slots=True)
class Assessment:
    """The verdict on one hypothesis, with the lines that justify it."""

    id: str
    verdict: Verdict
    why: str
    evidence: list[Evidence] = field(default_factory=list)
    title: str = ""              # human name, e.g. "destructive auto-restart on a transient A2A 503"
    lever: str | None = None     # recommended fix shape for this mechanism

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "why": self.why,
            "evidence": [e.to_dict() for e in self.evidence],
            "title": self.title,
            "lever": self.lever,
        }


@dataclass(slots=True)
class Analysis:
    outcome: Outcome
    primary: str | None
    failed_step: str | None
    hypotheses: dict[str, Assessment]
    timeline: list[Event]
    sources: list[str]
    headline: str = ""
    mechanism: str = ""
    lever: str | None = None
    signature: str = ""          # stable failure signature (dedupes Gitea comments, keys history)
    refs: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)   # run/job ids, buildinfo sha, slugs...
    notes: list[str] = field(default_factory=list)          # recurrence, history, truncation notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "outcome": self.outcome.value,
            "primary": self.primary,
            "failed_step": self.failed_step,
            "hypotheses": {h: self.hypotheses[h].to_dict() for h in HYPOTHESES if h in self.hypotheses},
            "timeline": [e.to_dict() for e in self.timeline],
            "sources": list(self.sources),
            "headline": self.headline,
            "mechanism": self.mechanism,
            "lever": self.lever,
            "signature": self.signature,
            "refs": list(self.refs),
            "context": dict(self.context),
            "notes": list(self.notes),
        }
