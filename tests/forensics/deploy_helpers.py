"""Shared builders for the deploy-lag / recurrence / history tests (no test functions here).

`make_repo` creates a real git repository with fixed commit dates:

    base (2026-06-15 09:00, "deployed before the fix")
      └─ fix (2026-06-15 11:10, the #2931 merge)
           └─ later (2026-06-15 12:00, "deployed after the fix")
    side branch from base: hotfix (2026-06-15 12:30) — built after the merge, but without the fix
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from forensics.known_issues import KnownIssue
from forensics.model import HYPOTHESES, Analysis, Assessment, Event, Evidence, Outcome, Verdict

FIX_MERGED = datetime(2026, 6, 15, 11, 10, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Repo:
    path: Path
    base: str
    fix: str
    later: str
    hotfix: str


def _git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path, name: str, when: str) -> str:
    (repo / f"{name}.txt").write_text(name + "\n")
    _git(repo, "add", f"{name}.txt")
    _git(repo, "commit", "-q", "-m", name, when=when)
    return _git(repo, "rev-parse", "HEAD")


def make_repo(root: Path) -> Repo:
    repo = root / "molecule-core"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    base = _commit(repo, "base", "2026-06-15T09:00:00Z")
    fix = _commit(repo, "fix-2931-debounce", "2026-06-15T11:10:00Z")
    later = _commit(repo, "later", "2026-06-15T12:00:00Z")
    _git(repo, "checkout", "-q", "-b", "hotfix", base)
    hotfix = _commit(repo, "hotfix", "2026-06-15T12:30:00Z")
    _git(repo, "checkout", "-q", "main")
    return Repo(repo, base, fix, later, hotfix)


def ts(hhmmss: str) -> datetime:
    """A naive UTC timestamp on the incident day (the model stores naive UTC)."""
    return datetime.fromisoformat(f"2026-06-15T{hhmmss}")


def ev(line: int, hhmmss: str | None, kind: str, text: str, hypothesis: str | None = None,
       source: str = "runner.log", direction: str | None = "for", signature: str | None = None,
       step: str | None = None) -> Event:
    return Event(source=source, line=line, ts=ts(hhmmss) if hhmmss else None, kind=kind, text=text,
                 hypothesis=hypothesis, direction=direction if hypothesis else None, signature=signature, step=step)


def analysis(timeline: list[Event], verdicts: dict[str, Verdict], primary: str | None,
             outcome: Outcome = Outcome.FAILED, failed_step: str | None = None) -> Analysis:
    hyps = {}
    for h in HYPOTHESES:
        v = verdicts.get(h, Verdict.NOT_EVIDENCED)
        evidence = [Evidence(e.source, e.line, e.text, e.ts) for e in timeline if e.hypothesis == h]
        hyps[h] = Assessment(id=h, verdict=v, why=f"engine: {v.value}", evidence=evidence)
    return Analysis(outcome=outcome, primary=primary, failed_step=failed_step, hypotheses=hyps,
                    timeline=timeline, sources=sorted({e.source for e in timeline}))


def restart_timeline(deployed_line: str | None) -> list[Event]:
    """The seed's #2917 failure at 15:35, optionally with a preflight /buildinfo line."""
    events = [ev(3, "15:35:14", "a2a-pong-ok", '✅ A2A parent round-trip succeeded: "PONG"')]
    if deployed_line:
        events.insert(0, ev(1, "15:30:02", "deploy-buildinfo", deployed_line))
    events += [
        ev(4, "15:35:15", "a2a-restart-triggered",
           'A2A agent-origin 503: {"error":"workspace agent unreachable — container restart triggered","restarting":true}',
           "destructive-restart"),
        ev(5, "15:35:45", "workspace-no-url", '{"error":"workspace has no URL","status":"offline"}', "destructive-restart"),
    ]
    return events


def restart_analysis(deployed_line: str | None) -> Analysis:
    return analysis(
        restart_timeline(deployed_line),
        {"destructive-restart": Verdict.PINNED, "cold-boot-crash": Verdict.RULED_OUT, "llm-401": Verdict.RULED_OUT},
        "destructive-restart",
        failed_step="known-answer",
    )


def issue_2917(fix_sha: str) -> KnownIssue:
    import re

    return KnownIssue(
        id="2917", ref="#2917", title="destructive auto-restart", hypothesis="destructive-restart",
        state="closed", role="mechanism", patterns=(re.compile("container restart triggered"),),
        fix_pr="#2931", fix_commits=(fix_sha,), merged=FIX_MERGED, repo="molecule-ai/molecule-core",
        deploys_via="publish the image, then redeploy staging", lever="debounce",
    )
