"""Run history in a local SQLite database (stdlib sqlite3).

Invariants:
- Safe under concurrent writers (pytest-xdist workers, parallel CI jobs): WAL journal,
  a busy timeout, and every write inside BEGIN IMMEDIATE ... COMMIT, so a writer either
  waits for the lock or fails whole — never a half-written row or a corrupt file.
- One row per run id: recording the same run again replaces its row (re-analysis is idempotent).
- Times are stored as UTC ISO-8601 strings ending in "Z" (they sort as text).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

ENV_VAR = "FORENSICS_HISTORY_DB"
DEFAULT_PATH = Path("reports") / "forensics-history.sqlite"
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL UNIQUE,
    recorded_at  TEXT NOT NULL,
    run_at       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    primary_id   TEXT,
    classes      TEXT NOT NULL DEFAULT '',
    failed_step  TEXT,
    signature    TEXT NOT NULL,
    deployed_sha TEXT,
    sources      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_signature ON runs (signature, run_at);
CREATE INDEX IF NOT EXISTS runs_run_at ON runs (run_at);
"""


class HistoryError(Exception):
    """The history database cannot be opened or written (one-line message)."""


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    run_at: datetime
    outcome: str
    primary: str | None
    classes: tuple[str, ...]
    failed_step: str | None
    signature: str
    deployed_sha: str | None
    sources: tuple[str, ...] = ()
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How often a signature shows up among the most recent runs."""

    signature: str
    seen: int                 # runs with this signature among the last `window`
    window: int               # how many recent runs were looked at (<= requested)
    first_seen: datetime | None
    last_seen: datetime | None
    last_green: datetime | None
    total_seen: int = 0       # all-time runs with this signature

    def sentence(self) -> str:
        """'seen in 3 of the last 10 runs, first on 2026-06-15 08:34 UTC, last green on …'."""
        def day(ts: datetime | None) -> str:
            return ts.strftime("%Y-%m-%d %H:%M UTC") if ts else "never"

        parts = [f"seen in {self.seen} of the last {self.window} run{'s' if self.window != 1 else ''}"]
        parts.append(f"first on {day(self.first_seen)}")
        parts.append(f"last green on {day(self.last_green)}" if self.last_green else "no green run recorded")
        return ", ".join(parts)


def resolve_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Explicit path, else $FORENSICS_HISTORY_DB, else reports/forensics-history.sqlite."""
    if path:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def iso(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts.isoformat(timespec="seconds") + "Z"


def _from_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_run_id() -> str:
    return f"local-{uuid.uuid4().hex[:12]}"


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


_retry_busy = retry(
    retry=retry_if_exception(_is_busy),
    stop=stop_after_attempt(8),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    reraise=True,
)


@_retry_busy
def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.exists():
        raise HistoryError(f"no history database at {path}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if create:
            conn.execute("BEGIN IMMEDIATE")
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                conn.execute(statement)
            conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def connect(path: str | os.PathLike[str] | None = None, *, create: bool = True) -> sqlite3.Connection:
    """Open (and, when `create`, initialise) the history database. Raises HistoryError."""
    target = resolve_path(path)
    if target.exists() and target.is_dir():
        raise HistoryError(f"history database path {target} is a directory")
    try:
        return _connect(target, create=create)
    except HistoryError:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise HistoryError(f"cannot open history database {target}: {exc}") from exc


@_retry_busy
def _write(conn: sqlite3.Connection, row: RunRow, recorded_at: datetime) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            """INSERT INTO runs (run_id, recorded_at, run_at, outcome, primary_id, classes,
                                 failed_step, signature, deployed_sha, sources)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(run_id) DO UPDATE SET
                 recorded_at=excluded.recorded_at, run_at=excluded.run_at, outcome=excluded.outcome,
                 primary_id=excluded.primary_id, classes=excluded.classes,
                 failed_step=excluded.failed_step, signature=excluded.signature,
                 deployed_sha=excluded.deployed_sha, sources=excluded.sources""",
            (
                row.run_id,
                iso(recorded_at),
                iso(row.run_at),
                row.outcome,
                row.primary,
                ",".join(row.classes),
                row.failed_step,
                row.signature,
                row.deployed_sha,
                "\n".join(row.sources),
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def record(conn: sqlite3.Connection, row: RunRow, *, now: datetime | None = None) -> None:
    """Insert (or replace by run id) one run, atomically."""
    try:
        _write(conn, row, now or datetime.now(timezone.utc))
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot record run {row.run_id}: {exc}") from exc


def _row(values: sqlite3.Row | tuple) -> RunRow:
    (run_id, recorded_at, run_at, outcome, primary, classes, failed_step, signature, deployed_sha, sources) = values
    return RunRow(
        run_id=run_id,
        run_at=_from_iso(run_at) or datetime.min,
        outcome=outcome,
        primary=primary,
        classes=tuple(c for c in (classes or "").split(",") if c),
        failed_step=failed_step,
        signature=signature,
        deployed_sha=deployed_sha,
        sources=tuple(s for s in (sources or "").split("\n") if s),
        recorded_at=_from_iso(recorded_at),
    )


_COLUMNS = "run_id, recorded_at, run_at, outcome, primary_id, classes, failed_step, signature, deployed_sha, sources"


def recent(conn: sqlite3.Connection, limit: int = 20, signature: str | None = None) -> list[RunRow]:
    """Most recent runs first (by run time, then insertion order)."""
    where, args = ("WHERE signature = ?", [signature]) if signature else ("", [])
    with closing(conn.execute(
        f"SELECT {_COLUMNS} FROM runs {where} ORDER BY run_at DESC, id DESC LIMIT ?", (*args, int(limit))
    )) as cursor:
        return [_row(r) for r in cursor.fetchall()]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def recurrence(conn: sqlite3.Connection, signature: str, window: int = 10) -> Recurrence:
    """Signature frequency among the last `window` runs (any signature), plus first/last seen
    and the last passed run (all-time)."""
    last = recent(conn, window)
    seen = sum(1 for r in last if r.signature == signature)
    first, latest, total = conn.execute(
        "SELECT MIN(run_at), MAX(run_at), COUNT(*) FROM runs WHERE signature = ?", (signature,)
    ).fetchone()
    (green,) = conn.execute("SELECT MAX(run_at) FROM runs WHERE outcome = 'passed'").fetchone()
    return Recurrence(
        signature=signature,
        seen=seen,
        window=len(last),
        first_seen=_from_iso(first),
        last_seen=_from_iso(latest),
        last_green=_from_iso(green),
        total_seen=int(total or 0),
    )


def integrity_ok(conn: sqlite3.Connection) -> bool:
    return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
