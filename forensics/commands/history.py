"""`forensics history`: print the recorded runs (newest first) from the history database."""

from __future__ import annotations

import argparse
import json
import sqlite3
from contextlib import closing

from forensics import history
from forensics.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="show recorded analyses (run id, time, outcome, classes, signature, deployed SHA)",
        description=(
            "Print the runs recorded by `forensics analyze --history-db` (newest first). "
            f"Database: --db, else ${history.ENV_VAR}, else {history.DEFAULT_PATH}."
        ),
    )
    parser.add_argument("--db", metavar="PATH", help=f"history database (default: ${history.ENV_VAR} or {history.DEFAULT_PATH})")
    parser.add_argument("--limit", type=_positive, default=20, metavar="N", help="show the N most recent runs (default 20)")
    parser.add_argument("--signature", metavar="SIG", help="only runs with this failure signature")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")
    parser.set_defaults(func=run)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def run(args: argparse.Namespace) -> int:
    path = history.resolve_path(args.db)
    try:
        with closing(history.connect(path, create=False)) as conn:
            rows = history.recent(conn, args.limit, args.signature)
            total = history.count(conn)
    except history.HistoryError as exc:
        raise UserError(str(exc)) from None
    except sqlite3.Error as exc:
        raise UserError(f"cannot read history database {path}: {exc}") from None
    if args.format == "json":
        print(json.dumps({"db": str(path), "total": total, "runs": [_as_dict(r) for r in rows]}, indent=2))
        return 0
    print(render_table(rows, total, str(path)))
    return 0


def _as_dict(row: history.RunRow) -> dict[str, object]:
    return {
        "run_id": row.run_id,
        "run_at": history.iso(row.run_at),
        "outcome": row.outcome,
        "primary": row.primary,
        "classes": list(row.classes),
        "failed_step": row.failed_step,
        "signature": row.signature,
        "deployed_sha": row.deployed_sha,
    }


HEADERS = ("run id", "run at (UTC)", "outcome", "primary", "step", "classes", "deployed", "signature")


def render_table(rows: list[history.RunRow], total: int, db: str) -> str:
    """A plain fixed-width table (fits a terminal; long cells are cut with …)."""
    body = [
        (
            r.run_id,
            history.iso(r.run_at).replace("T", " ").rstrip("Z"),
            r.outcome,
            r.primary or "-",
            r.failed_step or "-",
            ",".join(r.classes) or "-",
            (r.deployed_sha or "-")[:8],
            r.signature,
        )
        for r in rows
    ]
    cap = 40
    cells = [tuple(c if len(c) <= cap else c[: cap - 1] + "…" for c in line) for line in body]
    widths = [max(len(h), *(len(line[i]) for line in cells)) if cells else len(h) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)
    out.append(f"{len(rows)} of {total} recorded run(s) — {db}")
    return "\n".join(out)
