"""The run log: the only thing in the suite that prints.

Invariants:
- Every line is redacted before it leaves the process (stdout, run.log, events.jsonl).
- run.log's first line carries the full ISO-8601 UTC date/time of the run start, so that the
  `[HH:MM:SS]` lines after it can be dated; it is written once, by the controlling process.
- Lines follow the bash harness grammar (platform-api.md §12.1/§13): `[HH:MM:SS] <msg>`,
  `[HH:MM:SS] ✅ <msg>`, `[HH:MM:SS] ❌ <msg>`, and un-timed detail lines (`    <label> …`).
- Writers append whole lines with O_APPEND under an flock of run.log, so xdist workers can share it.
- A ❌ line always follows its own step's marker (`8/11 …`): when runtimes run in parallel and another
  runtime's marker was written since, the failing runtime's marker is repeated first, so a reader that
  attributes a failure to the last step marker (forensics) names the right step.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forensics.redact import Redactor

OK = "✅"
FAIL = "❌"
WARN = "⚠️ "
BROOM = "🧹"
# Lines a reader takes as the start of a step: the harness numbering ("7c/11 Files API …") and the
# teardown broom ("🧹 Tearing down …"), which forensics reads as the teardown step.
STEP_MARKER = re.compile(r"^(?:\d+[a-z]?/11 |🧹 )")
TIME_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d\] ")
MARKER_SCAN_BYTES = 65536


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def header_line(started: datetime, run_id: str, target: str) -> str:
    return f"{iso(started)} Platform Boot suite run {run_id} started (target: {target})"


def _append(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


@contextlib.contextmanager
def _file_lock(path: Path):  # noqa: ANN202
    """Exclusive flock of `path` across processes (xdist workers append to one run.log)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def last_step_marker(path: Path) -> str | None:
    """The message of the last step-marker line of run.log (without its time prefix)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(fh.seek(0, os.SEEK_END) - MARKER_SCAN_BYTES, 0))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        msg = TIME_PREFIX.sub("", line, count=1)
        if msg != line and STEP_MARKER.match(msg):
            return msg
    return None


class RunLog:
    """Writes harness-grammar lines to run.log (+ echo) and structured events to events.jsonl."""

    def __init__(self, reports_dir: Path, redactor: Redactor, echo: Callable[[str], None] | None,
                 runtime: str | None = None) -> None:
        self.reports_dir = reports_dir
        self.run_log = reports_dir / "run.log"
        self.events = reports_dir / "events.jsonl"
        self.redactor = redactor
        self.echo = echo
        self.runtime = runtime
        self.step: str | None = None
        self.marker: str | None = None     # this writer's last step-marker message (redacted)
        self._lock = threading.Lock()

    def bind(self, runtime: str | None) -> "RunLog":
        """A writer for one runtime, sharing files, redactor and echo."""
        return RunLog(self.reports_dir, self.redactor, self.echo, runtime)

    def start(self, started: datetime, run_id: str, target: str) -> None:
        """Create fresh run.log/events.jsonl with the dated header (controller only)."""
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        line = self.redactor.redact(header_line(started, run_id, target))
        self.run_log.write_text(line + "\n", encoding="utf-8")
        self.events.write_text("", encoding="utf-8")
        if self.echo:
            self.echo(line)
        self._event("header", line, ts=started)

    # -- harness grammar ------------------------------------------------------------

    def log(self, msg: str, kind: str = "log") -> None:
        self._line(f"[{now_utc():%H:%M:%S}] {msg}", kind, msg)

    def ok(self, msg: str) -> None:
        self._line(f"[{now_utc():%H:%M:%S}] {OK} {msg}", "ok", msg)

    def fail(self, msg: str) -> None:
        self._line(f"[{now_utc():%H:%M:%S}] {FAIL} {msg}", "fail", msg)

    def warn(self, msg: str) -> None:
        self._line(f"[{now_utc():%H:%M:%S}] {WARN} {msg}", "warn", msg)

    def detail(self, msg: str) -> None:
        """Un-timed indented line, as the harness's A2A helper prints on stderr."""
        self._line(f"    {msg}", "detail", msg)

    def raw(self, msg: str) -> None:
        """A line without time prefix (the harness's echo lines, e.g. the LEAK warning)."""
        self._line(msg, "raw", msg)

    def progress(self, msg: str) -> None:
        self.log(f"    {msg}", kind="progress")

    def event(self, kind: str, msg: str, **extra: Any) -> None:
        """A structured event that is not a log line (http call, step result...)."""
        self._event(kind, self.redactor.redact(msg), **extra)

    # -- plumbing ---------------------------------------------------------------------

    def _line(self, line: str, kind: str, msg: str) -> None:
        line = self.redactor.redact(line)
        with self._lock, _file_lock(self.run_log):
            if kind == "fail" and self.marker and last_step_marker(self.run_log) != self.marker:
                self._write(f"[{now_utc():%H:%M:%S}] {self.marker}")
            self._write(line)
            if kind == "log" and STEP_MARKER.match(msg):
                self.marker = self.redactor.redact(msg)
        self._event(kind, self.redactor.redact(msg))

    def _write(self, line: str) -> None:
        _append(self.run_log, line + "\n")
        if self.echo:
            self.echo(line)

    def _event(self, kind: str, message: str, ts: datetime | None = None, **extra: Any) -> None:
        record = {"ts": iso(ts or now_utc()), "runtime": self.runtime, "step": self.step,
                  "kind": kind, "message": message}
        for key, value in extra.items():
            record[key] = json.loads(self.redactor.redact(json.dumps(value))) if value is not None else None
        _append(self.events, json.dumps(record, ensure_ascii=False) + "\n")
