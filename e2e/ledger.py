"""The teardown ledger: what the run created, deleted, and leaked (reports/.ledger.jsonl).

Invariants:
- Workers append one JSON object per line (O_APPEND); the controller reads it at session end to
  run the safety-net teardown for anything created and not deleted, and to turn leaks into exit 4.
- No secrets: entries hold kinds, ids, slugs and runtimes only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = ".ledger.jsonl"


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str        # "org" | "workspace"
    ident: str       # slug for orgs, workspace id for workspaces
    runtime: str
    tenant_url: str = ""
    org_id: str = ""


def _path(reports_dir: Path) -> Path:
    return reports_dir / NAME


def record(reports_dir: Path, op: str, res: Resource, **extra: Any) -> None:
    entry = {"op": op, "kind": res.kind, "ident": res.ident, "runtime": res.runtime,
             "tenant_url": res.tenant_url, "org_id": res.org_id, **extra}
    fd = os.open(_path(reports_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry) + "\n").encode())
    finally:
        os.close(fd)


def reset(reports_dir: Path) -> None:
    _path(reports_dir).write_text("")


def read(reports_dir: Path) -> list[dict[str, Any]]:
    path = _path(reports_dir)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def outstanding(entries: list[dict[str, Any]]) -> list[Resource]:
    """Created and never torn down (neither deleted, kept nor leaked), workspaces before their org.

    A leaked resource was already deleted and checked by the teardown; it is reported (exit 4), not retried."""
    live: dict[tuple[str, str], Resource] = {}
    for e in entries:
        key = (e["kind"], e["ident"])
        if e["op"] == "created":
            live[key] = Resource(e["kind"], e["ident"], e["runtime"], e.get("tenant_url", ""), e.get("org_id", ""))
        elif e["op"] in ("deleted", "kept", "leak"):
            live.pop(key, None)
    return sorted(live.values(), key=lambda r: r.kind != "workspace")


def leaks(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["op"] == "leak"]
