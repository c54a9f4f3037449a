"""Stage 2: physical lines -> Records (timestamp, ANSI-free text, line role).

Invariants:
- ``Record.text`` is the line without ANSI escapes and without the 28-character runner
  timestamp prefix, right-trimmed: always a verbatim substring of the ANSI-stripped line
  (records are *not* redacted here; events redact what leaves the pipeline).
- ``Record.ts`` is UTC (naive) or None. Sources of time, in order: the runner prefix
  (``2026-06-15T08:33:46.1234567Z ``), a Go log / Gin prefix, a JSON ``time|ts|timestamp``
  field, an ISO date-time at the start of the line, and the harness ``[HH:MM:SS]`` clock,
  dated from the runner prefix or the latest date seen earlier in the same source.
- ``Line.echo`` marks lines that are echoed script source (the body of GitHub's
  ``##[group]Run …`` block: the script and its env, but never a ``[HH:MM:SS]`` harness line;
  ``set -x`` trace lines): they are kept for numbering but never matched as evidence. A Gitea
  ``::group::Run …`` is the workflow's own group (act_runner echoes no script): not echo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
RUNNER_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z ?")
GO_LOG = re.compile(r"^(?:\[GIN\] )?(\d{4})/(\d{2})/(\d{2})(?: -)? (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
ISO_START = re.compile(r"^\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?\]?")
ISO_ANYWHERE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})")
HARNESS_CLOCK = re.compile(r"^\[(\d{2}):(\d{2}):(\d{2})\]")
RUN_GROUP_CAP = 2000  # lines; GitHub always closes the block, this only guards broken logs
JSON_TIME_KEYS = ("time", "ts", "timestamp", "@timestamp", "t", "date")
JSON_MESSAGE_KEYS = ("msg", "message", "log", "text", "line", "MESSAGE", "output")


@dataclass(frozen=True, slots=True)
class Line:
    """A record plus what matching needs; ``Record`` (model) is what leaves the stage."""

    source: str
    line: int
    ts: datetime | None
    text: str
    echo: bool = False      # echoed script source: numbered, never evidence
    match_text: str = ""    # text used for matching (a JSON record: its message first, then the raw text)


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text) if "\x1b" in text else text


def _mk(y: str, mo: str, d: str, h: str, mi: str, s: str, frac: str | None) -> datetime | None:
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro)
    except ValueError:
        return None


def _json_time(value: object) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
        if seconds > 1e14:      # nanoseconds
            seconds /= 1e9
        elif seconds > 1e11:    # milliseconds
            seconds /= 1e3
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        m = ISO_START.match(value.strip())
        if m:
            ts = _mk(*m.groups()[:7])
            if ts and m.group(8) and m.group(8) != "Z":
                try:
                    offset = m.group(8).replace(":", "")
                    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
                    ts = ts - delta if offset[0] == "+" else ts + delta
                except ValueError:
                    pass
            return ts
    return None


def _json_fields(text: str) -> tuple[datetime | None, str]:
    """Timestamp and human message of a JSON-per-line record (best effort)."""
    if len(text) > 65536:
        return None, ""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None, ""
    if not isinstance(obj, dict):
        return None, ""
    ts = None
    for key in JSON_TIME_KEYS:
        if key in obj:
            ts = _json_time(obj[key])
            if ts:
                break
    # The human message comes first (so ``^``-anchored harness patterns match a harness line
    # carried in a JSON record), then the other scalar fields on their own line.
    lead = [str(obj[k]).rstrip("\r\n") for k in JSON_MESSAGE_KEYS if isinstance(obj.get(k), str)][:1]
    rest = [str(v) for k, v in obj.items()
            if isinstance(v, (str, int, float)) and k not in JSON_TIME_KEYS and k not in JSON_MESSAGE_KEYS]
    return ts, "\n".join(lead + ([" ".join(rest)] if rest else []))


class Clock:
    """Per-source state: the latest date seen (dates harness clock lines) and whether we
    are inside GitHub's ``##[group]Run …`` block (the echoed script and its env)."""

    def __init__(self) -> None:
        self.day: date | None = None
        self.last: datetime | None = None
        self.in_run_group = False
        self.group_lines = 0

    def seen(self, ts: datetime) -> None:
        self.day = ts.date()
        self.last = ts

    def clock(self, h: int, m: int, s: int) -> datetime | None:
        if self.day is None:
            return None
        try:
            ts = datetime.combine(self.day, time(h, m, s))
        except ValueError:
            return None
        if self.last is not None and ts < self.last - timedelta(hours=12):
            ts += timedelta(days=1)   # crossed midnight
        self.seen(ts)
        return ts


def parse_line(source: str, number: int, raw: str, clock: Clock) -> Line:
    """One physical line -> Line (see module invariants)."""
    ts: datetime | None = None
    body = raw
    m = RUNNER_PREFIX.match(raw)
    if m:
        ts = _mk(*m.groups())
        body = raw[m.end():]
        if ts:
            clock.seen(ts)
    if body.startswith("##[group]Run "):   # GitHub's step header; Gitea never echoes a script,
        # so a "::group::Run …" there is the workflow's own group around real output
        clock.in_run_group, clock.group_lines = True, 0
        echo = False
    elif clock.in_run_group and clock.group_lines > RUN_GROUP_CAP:
        clock.in_run_group = False   # an unterminated block must not hide the rest of the log
        echo = False
    elif clock.in_run_group and (body.startswith("##[endgroup]") or body.startswith("::endgroup::")):
        clock.in_run_group = False
        echo = False
    else:
        clock.group_lines += 1
        echo = clock.in_run_group or body.startswith("+ ") or body.startswith("++ ")
    text = strip_ansi(body).rstrip()
    lead = text.lstrip()
    if echo and clock.in_run_group and HARNESS_CLOCK.match(lead):
        echo = False   # a "[HH:MM:SS] …" harness line is output, never script source
    match_text = text
    if ts is None:
        g = GO_LOG.match(lead)
        if g:
            ts = _mk(*g.groups())
        elif lead.startswith("{"):
            ts, message = _json_fields(lead)
            if message:
                match_text = f"{strip_ansi(message)}\n{text}"
        else:
            i = ISO_START.match(lead)
            if i:
                ts = _json_time(i.group(0).strip("[]"))
        if ts:
            clock.seen(ts)
    h = HARNESS_CLOCK.match(lead) if ts is None and lead.startswith("[") else None
    if h:
        ts = clock.clock(int(h.group(1)), int(h.group(2)), int(h.group(3)))
    elif ts is None and clock.day is None and "-" in lead:
        a = ISO_ANYWHERE.search(lead)
        if a:
            found = _mk(*a.groups(), None)
            if found:
                clock.seen(found)
    return Line(source=source, line=number, ts=ts, text=text, echo=echo, match_text=match_text)


def parse(source: str, lines: Iterable[tuple[int, str]]) -> Iterator[Line]:
    clock = Clock()
    for number, raw in lines:
        yield parse_line(source, number, raw, clock)
