"""Deployed build vs fix: is a merged fix actually running on the tested tenant?

Three ways to answer, strongest first (the answer always names the one used):
- `git`: a local clone (`--repo-path`) -> `git merge-base --is-ancestor FIX DEPLOYED`.
- `gitea`: the Gitea compare API -> commits reachable from FIX but not from DEPLOYED == 0.
- `time-only`: the deployed build time vs the fix's merge time. Labelled as such: a build made
  before the merge cannot contain the fix; one made after it only probably does.

Also reads the deploy facts a run log carries (the tenant's /buildinfo SHA and build time, and
"image published but no redeploy followed"). Pure functions except `git_contains` and
`gitea_contains` (a subprocess / an HTTP call at the edge).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import httpx

from forensics.matcher import Matcher, Pattern, compile_matcher
from forensics.model import Analysis, Event
from forensics.redact import redact
from forensics.signatures import Signature, load_signatures

GIT_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 10.0

_SHA = r"[0-9a-f]{7,40}"
_DEPLOYED_SHA_RES = (
    re.compile(rf"actual=({_SHA})\b", re.IGNORECASE),
    re.compile(rf"git_sha[\"']?\s*[=:]\s*[\"']?({_SHA})\b", re.IGNORECASE),
    re.compile(rf"buildinfo\b[^a-z]*sha[\"']?\s*[=:]\s*[\"']?({_SHA})\b", re.IGNORECASE),
)
_EXPECTED_SHA_RES = (
    re.compile(rf"expected=({_SHA})\b", re.IGNORECASE),
    re.compile(rf"this run expects ({_SHA})\b", re.IGNORECASE),
    re.compile(rf"expected[-_ ]sha[\"']?\s*[=:]?\s*[\"']?({_SHA})\b", re.IGNORECASE),
)
_BUILD_TIME_RE = re.compile(r"build_time[\"']?\s*[=:]\s*[\"']?(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)")

# Event kinds (deploy-workflow.toml and the engine's deploy.toml) this module reasons over.
PUBLISHED_KIND = "deploy-image-published"
REDEPLOY_KINDS = (
    "deploy-redeploy-started", "deploy-fleet-ok", "deploy-stragglers",  # deploy-workflow.toml
    "deploy-failed", "deploy-wait", "deploy-ok",                         # deploy.toml (a redeploy ran)
)
DERIVED_NO_REDEPLOY = "deploy-published-no-redeploy"

METHOD_GIT = "git"
METHOD_GITEA = "gitea"
METHOD_TIME = "time-only"
METHOD_SAME = "same-commit"
METHOD_NONE = "none"


@dataclass(frozen=True, slots=True)
class DeployedBuild:
    """What the tested tenant runs, as the run log (or analysis context) records it."""

    sha: str | None
    build_time: datetime | None = None
    expected_sha: str | None = None
    event: Event | None = None


@dataclass(frozen=True, slots=True)
class GiteaRepo:
    """Where to ask the compare API: base URL, token, and owner/name (None: each known
    issue's own `repo`)."""

    base_url: str
    repo: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class DeployCheck:
    """Whether the deployed build contains the fix. `contains_fix` None = cannot tell.

    `certain` is False for the time-only comparison when the build is newer than the merge.
    """

    fix_commit: str | None
    deployed_sha: str | None
    contains_fix: bool | None
    method: str
    detail: str
    certain: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "fix_commit": self.fix_commit,
            "deployed_sha": self.deployed_sha,
            "contains_fix": self.contains_fix,
            "method": self.method,
            "certain": self.certain,
            "detail": self.detail,
        }


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 / ISO time -> aware UTC datetime (None if unparsable)."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def utc(ts: datetime | None) -> datetime | None:
    """Naive timestamps in the model are UTC: make them aware for comparisons."""
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def fmt_utc(ts: datetime | None) -> str:
    """'2026-06-15 11:10 UTC' — the seed's register."""
    if ts is None:
        return "an unknown time"
    return utc(ts).strftime("%Y-%m-%d %H:%M UTC")  # type: ignore[union-attr]


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found.group(1).lower()
    return None


def _build_from(event: Event, fallback_time: datetime | None) -> DeployedBuild | None:
    sha = _first(_DEPLOYED_SHA_RES, event.text)
    if not sha:
        return None
    found = _BUILD_TIME_RE.search(event.text)
    return DeployedBuild(
        sha=sha,
        build_time=parse_time(found.group(1)) if found else fallback_time,
        expected_sha=_first(_EXPECTED_SHA_RES, event.text),
        event=event,
    )


def _is_deploy_event(event: Event) -> bool:
    return event.kind.startswith("deploy") or event.hypothesis == "deploy-lag" or "buildinfo" in event.text.lower()


def deployed_build(analysis: Analysis, events: list[Event] | None = None) -> DeployedBuild | None:
    """The deployed build: analysis.context (deployed_sha / buildinfo_sha / build_time) first,
    else the first deploy/buildinfo event (of `events`, default the timeline) that names a
    deployed SHA. The event that names it (if any) is kept as evidence, with its build time."""
    ctx = analysis.context or {}
    ctx_sha = next((str(ctx[k]).lower() for k in ("deployed_sha", "buildinfo_sha", "git_sha") if ctx.get(k)), None)
    if ctx_sha and not re.fullmatch(_SHA, ctx_sha):
        ctx_sha = None
    ctx_time = parse_time(next((str(ctx[k]) for k in ("build_time", "buildinfo_build_time") if ctx.get(k)), None))
    seen = events if events is not None else analysis.timeline
    candidates = [b for e in seen if _is_deploy_event(e) for b in [_build_from(e, ctx_time)] if b]
    if ctx_sha:
        same = [b for b in candidates if b.sha and (b.sha.startswith(ctx_sha) or ctx_sha.startswith(b.sha))]
        timed = [b for b in same if b.build_time]
        chosen = (timed or same or [None])[0]
        expected = str(ctx.get("expected_sha") or "").lower() or (chosen.expected_sha if chosen else None)
        return DeployedBuild(ctx_sha, chosen.build_time if chosen else ctx_time, expected,
                             chosen.event if chosen else None)
    if candidates:
        return candidates[0]
    if ctx_time:
        return DeployedBuild(None, ctx_time)
    return None


def published_without_redeploy(timeline: list[Event]) -> list[Event]:
    """Derived events: an image was published and no redeploy of the fleet followed it.

    Each derived event points at the (real) publish line, kind DERIVED_NO_REDEPLOY.
    Empty when any redeploy activity appears after the last publish.
    """
    published = [e for e in timeline if e.kind == PUBLISHED_KIND]
    if not published:
        return []
    last = published[-1]
    last_index = max(i for i, e in enumerate(timeline) if e is last)
    after = timeline[last_index + 1 :]
    if any(e.kind in REDEPLOY_KINDS for e in after):
        return []
    if any(e.kind in REDEPLOY_KINDS for e in timeline if e.ts is None or last.ts is None):
        return []  # cannot order an untimed redeploy line: do not claim it never happened
    return [
        Event(
            source=last.source,
            line=last.line,
            ts=last.ts,
            kind=DERIVED_NO_REDEPLOY,
            text=last.text,
            signature="published-without-redeploy",
            hypothesis="deploy-lag",
            direction="for",
            meaning="the image was published but no fleet redeploy followed, so tenants keep the old image",
        )
    ]


@lru_cache(maxsize=4)
def _catalogue(signatures: tuple[Signature, ...] | None) -> tuple[list[Signature], Matcher]:
    """Shipped signatures (or the given ones) and their matcher, compiled once per process."""
    sigs = list(signatures) if signatures is not None else load_signatures()
    return sigs, compile_matcher([Pattern(x.pattern, x.ignore_case) for x in sigs])


def facts(analysis: Analysis, signatures: list[Signature] | None = None) -> list[Event]:
    """Every signature match on the lines the analysis kept (timeline + all evidence), one Event
    per (line, signature), in time order (untimed last, stable).

    The engine's timeline keeps one event per line (a failure kind outranks e.g. "deploy-lag"),
    so the deploy stage re-reads the kept lines to see every kind/signature a line carries.
    """
    sigs, matcher = _catalogue(tuple(signatures) if signatures is not None else None)
    lines: dict[tuple[str, int], tuple[str, datetime | None]] = {}
    for event in analysis.timeline:
        lines.setdefault((event.source, event.line), (event.text, event.ts))
    for assessment in analysis.hypotheses.values():
        for item in assessment.evidence:
            lines.setdefault((item.source, item.line), (item.text, item.ts))
    out: list[Event] = []
    for (source, line), (text, ts) in lines.items():
        for index in matcher.matches(text):
            sig = sigs[index]
            out.append(Event(source=source, line=line, ts=ts, kind=sig.kind, text=text, signature=sig.id,
                             hypothesis=sig.hypothesis, direction=sig.direction if sig.hypothesis else None,
                             step=sig.step, meaning=sig.meaning or None))
    never = datetime.max
    out.sort(key=lambda e: (e.ts.replace(tzinfo=None) if e.ts else never, e.source, e.line))
    return out


# ── the three comparisons ──────────────────────────────────────────────────────────────────────


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )


def git_contains(repo_path: str | Path, fix: str, deployed: str) -> tuple[bool | None, str]:
    """`git merge-base --is-ancestor FIX DEPLOYED` in a local clone -> (answer, why-if-None)."""
    repo = Path(repo_path)
    if not repo.is_dir():
        return None, f"--repo-path {repo} is not a directory"
    for sha in (fix, deployed):
        try:
            probe = _git(repo, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"git failed: {type(exc).__name__}"
        if probe.returncode != 0:
            return None, f"commit {sha} is not in the clone at {repo} (fetch it?)"
    result = _git(repo, "merge-base", "--is-ancestor", fix, deployed)
    if result.returncode == 0:
        return True, ""
    if result.returncode == 1:
        return False, ""
    return None, f"git merge-base failed: {redact(result.stderr.strip().splitlines()[0] if result.stderr.strip() else str(result.returncode))}"


def gitea_contains(gitea: GiteaRepo, fix: str, deployed: str, repo: str | None = None) -> tuple[bool | None, str]:
    """Gitea `GET /api/v1/repos/{repo}/compare/{DEPLOYED}...{FIX}` (via forensics.gitea.GiteaClient):
    the commits listed are those reachable from FIX but not from the merge base, so none means
    FIX is an ancestor of DEPLOYED. A GitHub-style `status` ("behind"/"identical") is honoured."""
    from forensics.gitea import GiteaClient, GiteaError, parse_repo

    target = repo or gitea.repo
    try:
        owner, name = parse_repo(target or "")
    except ValueError:
        return None, f"no usable Gitea repository ({target!r})"
    path = f"/repos/{owner}/{name}/compare/{deployed}...{fix}"
    try:
        with GiteaClient(gitea.base_url, gitea.token or "", timeout=HTTP_TIMEOUT_S, attempts=3, backoff=0.2) as client:
            response = client.request("compare commits", "GET", path, ok=(200, 404))
    except (GiteaError, ValueError, httpx.HTTPError) as exc:
        return None, f"Gitea compare failed: {redact(str(exc), extra=(gitea.token or '',)).splitlines()[0]}"
    if response.status_code == 404:
        return None, f"Gitea does not know {deployed[:8]} or {fix[:8]} in {owner}/{name}"
    try:
        body = response.json()
    except ValueError:
        return None, "Gitea compare answered non-JSON"
    if not isinstance(body, dict):
        return None, "Gitea compare answer is not an object"
    status = body.get("status")
    if status in ("behind", "identical"):
        return True, ""
    if status in ("ahead", "diverged"):
        return False, ""
    total = body.get("total_commits")
    if not isinstance(total, int):
        commits = body.get("commits")
        total = len(commits) if isinstance(commits, list) else None
    if total is None:
        return None, "Gitea compare answer has no total_commits"
    return total == 0, ""


def time_contains(build_time: datetime | None, merged: datetime | None) -> tuple[bool | None, bool]:
    """(contains_fix, certain) from times alone. Built before the merge -> (False, True);
    built at/after the merge -> (True, False): probable, not proven."""
    if build_time is None or merged is None:
        return None, False
    if utc(build_time) < utc(merged):  # type: ignore[operator]
        return False, True
    return True, False


def _same_commit(a: str, b: str) -> bool:
    """Two SHAs name the same commit when one is a prefix (>= 7 hex) of the other."""
    a, b = a.lower(), b.lower()
    shortest = min(len(a), len(b))
    return shortest >= 7 and a[:shortest] == b[:shortest]


def check(
    fix_commit: str | None,
    merged: datetime | None,
    build: DeployedBuild | None,
    *,
    repo_path: str | Path | None = None,
    gitea: GiteaRepo | None = None,
    repo: str | None = None,
) -> DeployCheck:
    """Does the deployed build contain the fix? Tries git, then Gitea, then times; says which."""
    sha = build.sha if build else None
    short_fix = fix_commit[:8] if fix_commit else None
    short_sha = sha[:8] if sha else None
    reasons: list[str] = []
    if fix_commit and sha and _same_commit(fix_commit, sha):
        return DeployCheck(fix_commit, sha, True, METHOD_SAME,
                           f"the deployed build {short_sha} is the fix commit {short_fix} itself")
    if fix_commit and sha:
        if repo_path is not None:
            answer, why = git_contains(repo_path, fix_commit, sha)
            if answer is not None:
                relation = "is an ancestor of" if answer else "is NOT an ancestor of"
                return DeployCheck(fix_commit, sha, answer, METHOD_GIT,
                                   f"fix {short_fix} {relation} the deployed {short_sha} (git merge-base --is-ancestor)")
            reasons.append(why)
        if gitea is not None:
            answer, why = gitea_contains(gitea, fix_commit, sha, repo=gitea.repo or repo)
            if answer is not None:
                relation = "is contained in" if answer else "is NOT contained in"
                return DeployCheck(fix_commit, sha, answer, METHOD_GITEA,
                                   f"fix {short_fix} {relation} the deployed {short_sha} (Gitea compare {gitea.repo or repo})")
            reasons.append(why)
        if repo_path is None and gitea is None:
            reasons.append("no --repo-path or Gitea repo to check git ancestry")
    elif not sha:
        reasons.append("the run log records no deployed /buildinfo SHA")
    else:
        reasons.append("the known issue lists no fix commit")
    build_time = build.build_time if build else None
    answer, certain = time_contains(build_time, merged)
    fallback = "; ".join(r for r in reasons if r)
    if answer is False:
        return DeployCheck(fix_commit, sha, False, METHOD_TIME,
                           f"time-only comparison: the deployed build ({fmt_utc(build_time)}) predates the fix's merge "
                           f"({fmt_utc(merged)}), so it cannot contain it ({fallback})")
    if answer is True:
        return DeployCheck(fix_commit, sha, True, METHOD_TIME,
                           f"time-only comparison: the deployed build ({fmt_utc(build_time)}) is newer than the fix's merge "
                           f"({fmt_utc(merged)}), so it probably contains it — not proof ({fallback})", certain=False)
    if build_time is None and merged is not None:
        fallback += "; no deployed build time to compare with the merge time"
    return DeployCheck(fix_commit, sha, None, METHOD_NONE, f"cannot tell whether the fix is deployed: {fallback}", certain=False)
