"""Known-issue registry: failure signatures -> tracked issue, fix and lever (data in TOML).

Invariants:
- The registry is data (`forensics/data/known_issues.toml`); this module only loads and matches.
- `match(analysis)` is pure: it reads the analysis and never changes it.
- An issue matches only when its `hypothesis` is weighed pinned/supported in the analysis AND
  (when it lists any) one of its kinds / signature ids / patterns occurs in the timeline.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from forensics.model import HYPOTHESES, Analysis, Event, Verdict

DEFAULT_PATH = Path(__file__).parent / "data" / "known_issues.toml"

ROLES = ("mechanism", "deploy")


class KnownIssueError(ValueError):
    """The registry file is malformed (message names the entry and the field)."""


@dataclass(frozen=True, slots=True)
class KnownIssue:
    id: str
    ref: str
    title: str
    hypothesis: str
    state: str = "open"
    role: str = "mechanism"
    kinds: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    fix_pr: str | None = None
    fix_commits: tuple[str, ...] = ()
    merged: datetime | None = None
    repo: str | None = None
    deploys_via: str | None = None
    lever: str | None = None

    @property
    def fix_commit(self) -> str | None:
        """The commit compared with the deployed build (first listed), if any."""
        return self.fix_commits[0] if self.fix_commits else None

    @property
    def fix_merged(self) -> bool:
        """A fix exists on the default branch (closed with a merge time or a fix commit)."""
        return self.state == "closed" and (self.merged is not None or bool(self.fix_commits))

    def matching_events(self, timeline: list[Event]) -> list[Event]:
        """Timeline events that carry this issue's signature (empty if it lists none)."""
        hits: list[Event] = []
        for event in timeline:
            if (
                (self.kinds and event.kind in self.kinds)
                or (self.signatures and event.signature in self.signatures)
                or any(p.search(event.text) for p in self.patterns)
            ):
                hits.append(event)
        return hits

    @property
    def has_signature(self) -> bool:
        return bool(self.kinds or self.signatures or self.patterns)


def _parse_time(value: object, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise KnownIssueError(f"{where}: merged {value!r} is not an RFC 3339 time") from exc
    else:
        raise KnownIssueError(f"{where}: merged must be a time string")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _strings(entry: dict, key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnownIssueError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def parse(data: dict) -> list[KnownIssue]:
    """Validate and build the registry from parsed TOML (`{"issue": [...]}`)."""
    issues: list[KnownIssue] = []
    seen: set[str] = set()
    for index, entry in enumerate(data.get("issue", [])):
        where = f"known issue #{index + 1}"
        for required in ("id", "ref", "title", "hypothesis"):
            if not isinstance(entry.get(required), str) or not entry[required]:
                raise KnownIssueError(f"{where}: missing {required}")
        where = f"known issue {entry['id']!r}"
        if entry["id"] in seen:
            raise KnownIssueError(f"{where}: duplicate id")
        seen.add(entry["id"])
        if entry["hypothesis"] not in HYPOTHESES:
            raise KnownIssueError(f"{where}: hypothesis {entry['hypothesis']!r} is not one of {', '.join(HYPOTHESES)}")
        state = entry.get("state", "open")
        if state not in ("open", "closed"):
            raise KnownIssueError(f"{where}: state must be open or closed")
        role = entry.get("role", "mechanism")
        if role not in ROLES:
            raise KnownIssueError(f"{where}: role must be one of {', '.join(ROLES)}")
        try:
            patterns = tuple(re.compile(p) for p in _strings(entry, "patterns", where))
        except re.error as exc:
            raise KnownIssueError(f"{where}: bad pattern: {exc}") from exc
        commits = _strings(entry, "fix_commits", where)
        for sha in commits:
            if not re.fullmatch(r"[0-9a-fA-F]{7,40}", sha):
                raise KnownIssueError(f"{where}: fix commit {sha!r} is not a hex SHA")
        issues.append(
            KnownIssue(
                id=entry["id"],
                ref=entry["ref"],
                title=entry["title"],
                hypothesis=entry["hypothesis"],
                state=state,
                role=role,
                kinds=_strings(entry, "kinds", where),
                signatures=_strings(entry, "signatures", where),
                patterns=patterns,
                fix_pr=entry.get("fix_pr") or None,
                fix_commits=tuple(c.lower() for c in commits),
                merged=_parse_time(entry.get("merged"), where),
                repo=entry.get("repo") or None,
                deploys_via=entry.get("deploys_via") or None,
                lever=entry.get("lever") or None,
            )
        )
    return issues


def load(path: str | Path | None = None) -> list[KnownIssue]:
    """Load the registry (default: the one shipped with the package)."""
    target = Path(path) if path else DEFAULT_PATH
    try:
        with target.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise KnownIssueError(f"cannot read known-issue registry {target}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise KnownIssueError(f"known-issue registry {target}: {exc}") from exc
    return parse(data)


_WEIGHED = (Verdict.PINNED, Verdict.SUPPORTED)


def match(
    analysis: Analysis, issues: list[KnownIssue], extra: list[Event] | tuple[Event, ...] = ()
) -> list[tuple[KnownIssue, list[Event]]]:
    """Known issues this analysis shows, each with the events that carry its signature.

    `extra` are derived events (e.g. "published without redeploy") that point at real lines
    but are not part of the timeline.
    """
    found: list[tuple[KnownIssue, list[Event]]] = []
    events_seen = [*analysis.timeline, *extra]
    for issue in issues:
        assessment = analysis.hypotheses.get(issue.hypothesis)
        if assessment is None or assessment.verdict not in _WEIGHED:
            continue
        events = issue.matching_events(events_seen)
        if issue.has_signature and not events:
            continue
        found.append((issue, events))
    return found
