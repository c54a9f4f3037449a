"""Post-verdict stage: known issues, "fixed but not deployed", and run history.

`enrich(analysis, ...)` returns a NEW Analysis (the input is not mutated) that adds:
- for a pinned/supported mechanism matching a known issue whose fix is merged:
  "#2917-class, recurring after its fix was merged (ccdd20d2, 2026-06-15 11:10 UTC) — is the fix deployed?"
  and the answer from forensics.deploy (git ancestry, Gitea compare, or a labelled time-only comparison):
  fix live -> "regression: the fix is live yet the failure recurs" (deploy-lag ruled out when it was
  not evidenced); fix absent -> deploy-lag SUPPORTED with the deploy lever;
- deploy-workflow findings (published without redeploy; known deploy-pipeline issues) -> the
  deploy-lag lever and refs;
- deploy-lag PINNED only when the run failed for no pinned reason (primary "unknown") and its own
  failure is the lag (a /buildinfo mismatch, a failed/stale fleet redeploy, the Rule 8 prod gate);
- with a history database: the run is recorded and "seen in N of the last 10 runs, first on …,
  last green on …" is noted.

Invariants kept: all five hypotheses present; at most one PINNED and it is `primary`; evidence
points at real lines (derived evidence reuses the line it was derived from).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from forensics import deploy, history
from forensics import known_issues as registry
from forensics.model import HYPOTHESES, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.signatures import Signature

# Deploy-workflow event kinds that mean "this run's failure is the lag itself".
LAG_IS_THE_FAILURE = (
    "deploy-lag",          # deploy.toml: /buildinfo mismatch, stale tenants, redeploy did not run
    "deploy-failed",       # deploy.toml: redeploy-fleet failed / cannot run / SSM provider mismatch
    "deploy-stragglers",   # deploy-workflow.toml
    "deploy-lint-gate",    # deploy-workflow.toml: Rule 8 stopped the prod deploy
)
# Not in the list: "published without redeploy" and a swallowed job support deploy-lag but do
# not by themselves say that THIS run failed because of the lag (never force a class).

HISTORY_WINDOW = 10


def _evidence(event: Event, meaning: str | None = None) -> Evidence:
    return Evidence(
        source=event.source,
        line=event.line,
        text=event.text,
        ts=event.ts,
        meaning=meaning or event.meaning,
        direction="for",
    )


def _add_evidence(assessment: Assessment, items: list[Evidence]) -> None:
    have = {(e.source, e.line) for e in assessment.evidence}
    for item in items:
        if (item.source, item.line) not in have:
            assessment.evidence.append(item)
            have.add((item.source, item.line))


def _copy(analysis: Analysis) -> Analysis:
    """Shallow-copy the analysis, deep enough that enrich never mutates its input."""
    return dataclasses.replace(
        analysis,
        hypotheses={k: dataclasses.replace(v, evidence=list(v.evidence)) for k, v in analysis.hypotheses.items()},
        refs=list(analysis.refs),
        context=copy.deepcopy(analysis.context),
        notes=list(analysis.notes),
    )


def _run_time(analysis: Analysis, now: datetime) -> datetime:
    stamps = [deploy.utc(e.ts) for e in analysis.timeline if e.ts is not None]
    return max(stamps) if stamps else now  # type: ignore[return-value,type-var]


def _verdict_tail(analysis: Analysis) -> str:
    """The "; X ruled out; Y supported; Z not evidenced" tail of the engine's headline
    (same wording and order as verdict.report_sentences), so a changed verdict can be re-said."""
    groups = {v: [h for h in HYPOTHESES if h in analysis.hypotheses and analysis.hypotheses[h].verdict is v]
              for v in Verdict}
    parts = []
    if groups[Verdict.RULED_OUT]:
        parts.append(f"{', '.join(groups[Verdict.RULED_OUT])} ruled out")
    if groups[Verdict.SUPPORTED]:
        parts.append(f"{', '.join(groups[Verdict.SUPPORTED])} supported")
    if groups[Verdict.NOT_EVIDENCED] and analysis.outcome is not Outcome.PASSED:
        parts.append(f"{', '.join(groups[Verdict.NOT_EVIDENCED])} not evidenced")
    return ("; " + "; ".join(parts)) if parts else ""


def _refresh_headline(before: Analysis, out: Analysis, pinned_now: bool) -> None:
    """Keep the headline true after this stage changed verdicts."""
    old_tail, new_tail = _verdict_tail(before), _verdict_tail(out)
    if pinned_now:
        lag = out.hypotheses["deploy-lag"]
        step = f" at step {out.failed_step}" if out.failed_step else ""
        out.headline = f"Root cause PINNED to deploy-lag — {lag.title or 'fix merged but not deployed'}{step}{new_tail}."
        return
    if old_tail != new_tail and old_tail and old_tail in out.headline:
        out.headline = out.headline.replace(old_tail, new_tail, 1)


def _raise(assessment: Assessment, verdict: Verdict, why: str) -> None:
    """Raise a verdict (never lowers; never touches a pinned one)."""
    order = [Verdict.RULED_OUT, Verdict.NOT_EVIDENCED, Verdict.SUPPORTED, Verdict.PINNED]
    if assessment.verdict is Verdict.PINNED:
        return
    if order.index(verdict) > order.index(assessment.verdict):
        assessment.verdict = verdict
        assessment.why = why


def signature_of(analysis: Analysis) -> str:
    """Stable failure signature: the engine's when set, else outcome/primary/step."""
    if analysis.signature:
        return analysis.signature
    return f"{analysis.outcome.value}:{analysis.primary or '-'}:{analysis.failed_step or '-'}"


def classes_of(analysis: Analysis) -> tuple[str, ...]:
    return tuple(
        h for h, a in analysis.hypotheses.items() if a.verdict in (Verdict.PINNED, Verdict.SUPPORTED)
    )


def _default_run_id(analysis: Analysis) -> str:
    ctx = analysis.context or {}
    for key in ("run_id", "job_id", "run", "job"):
        if ctx.get(key):
            return str(ctx[key])
    if analysis.sources and analysis.timeline:
        first = analysis.timeline[0]
        digest = hashlib.sha256(
            "\n".join([*analysis.sources, str(first.ts), str(len(analysis.timeline))]).encode()
        ).hexdigest()[:12]
        return f"sources-{digest}"
    return history.new_run_id()


def _deploy_lever(issues: list[registry.KnownIssue], extra: list[str]) -> str | None:
    levers = [*extra, *(i.lever for i in issues if i.lever)]
    seen: list[str] = []
    for lever in levers:
        if lever and lever not in seen:
            seen.append(lever)
    return " | ".join(seen) if seen else None


def enrich(
    analysis: Analysis,
    *,
    repo_path: str | Path | None = None,
    gitea: deploy.GiteaRepo | None = None,
    history_db: str | Path | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    known: list[registry.KnownIssue] | None = None,
    signatures: list[Signature] | None = None,
) -> Analysis:
    """Add known-issue, deploy-lag and history findings to a finished analysis (see module doc)."""
    out = _copy(analysis)
    now = deploy.utc(now) if now else datetime.now(timezone.utc)
    issues = known if known is not None else registry.load()
    lag = out.hypotheses.get("deploy-lag")
    run_at = _run_time(out, now)  # type: ignore[arg-type]

    # 1. Every signature each kept line carries; then the deploy facts that need more than one
    #    line: published, then no redeploy.
    seen = deploy.facts(out, signatures)
    derived = deploy.published_without_redeploy(seen)
    if derived and lag is not None:
        _raise(lag, Verdict.SUPPORTED,
               "The image was published but no fleet redeploy followed it, so the tenants still run the old build.")
        _add_evidence(lag, [_evidence(e) for e in derived])
        out.notes.append(
            f"image published ({deploy.fmt_utc(derived[0].ts)}) but no redeploy ran after it — "
            "published is not deployed; the tenants keep the old image"
        )

    # 2. The deployed build, and every known issue this run shows.
    build = deploy.deployed_build(out, seen)
    if build and build.sha:
        out.context.setdefault("deployed_sha", build.sha)
    matches = registry.match(out, issues, [*seen, *derived])
    stale = bool(build and build.sha and build.expected_sha
                 and not (build.sha.startswith(build.expected_sha) or build.expected_sha.startswith(build.sha)))
    if stale and build and build.sha and build.expected_sha:
        for issue in issues:
            fix = issue.fix_commit
            if fix and (fix.startswith(build.expected_sha) or build.expected_sha.startswith(fix)):
                out.notes.append(
                    f"this run expects {build.expected_sha[:8]}, the {issue.fix_pr or issue.ref} fix for "
                    f"{issue.ref} ({issue.title}); the tenant still runs {build.sha[:8]} — fixed but not deployed"
                )
    checks: list[dict[str, object]] = []
    deploy_issues: list[registry.KnownIssue] = []
    lag_levers: list[str] = []

    for issue, _events in matches:
        if issue.ref not in out.refs:
            out.refs.append(issue.ref)
        if issue.role == "deploy":
            deploy_issues.append(issue)
            continue
        cls = f"{issue.ref}-class"
        if not issue.fix_merged:
            out.notes.append(f"{cls} ({issue.title}); {issue.ref} is {issue.state}, no fix merged yet")
            continue
        fix_desc = ", ".join(x for x in (issue.fix_commit, issue.fix_pr, deploy.fmt_utc(issue.merged) if issue.merged else None) if x)
        if issue.merged is not None and run_at < issue.merged:
            out.notes.append(f"{cls}; this run predates its fix ({fix_desc})")
            continue
        out.notes.append(f"{cls}, recurring after its fix was merged ({fix_desc}) — is the fix deployed?")
        result = deploy.check(issue.fix_commit, issue.merged, build, repo_path=repo_path, gitea=gitea, repo=issue.repo)
        checks.append({"issue": issue.id, **result.to_dict()})
        if result.contains_fix is True and result.certain:
            out.notes.append(
                f"regression: the fix is live yet the failure recurs — {result.detail}; reopen {issue.ref}"
            )
            if lag is not None and lag.verdict is Verdict.NOT_EVIDENCED:
                lag.verdict = Verdict.RULED_OUT
                lag.why = (f"The deployed build {build.sha[:8] if build and build.sha else ''} already contains "
                           f"the {issue.fix_pr or issue.ref} fix ({result.method}); this is a regression, not deploy lag.")
        elif result.contains_fix is True:
            out.notes.append(f"the fix is probably deployed — {result.detail}; if so this is a regression of {issue.ref}")
        elif result.contains_fix is False:
            out.notes.append(f"fix not deployed → deploy-lag supported — {result.detail}")
            if lag is not None:
                _raise(lag, Verdict.SUPPORTED,
                       f"{issue.fix_pr or issue.ref} is merged ({issue.fix_commit or 'merge'} at "
                       f"{deploy.fmt_utc(issue.merged)}) but the deployed build does not carry it "
                       f"({result.method}), so the tested tenant still runs the pre-fix code.")
                if build and build.event:
                    _add_evidence(lag, [_evidence(build.event, "the deployed build, which predates the fix")])
                lag_levers.append(
                    f"deploy the {issue.fix_pr or issue.ref} fix: {issue.deploys_via or 'publish and redeploy'}, "
                    "then re-run the gate"
                )
        else:
            out.notes.append(result.detail)
    if checks:
        out.context["deploy_checks"] = checks

    # 3. deploy-lag: lever from the deploy-pipeline issues; pin only when the lag IS the failure.
    pinned_here = False
    if lag is not None and lag.verdict in (Verdict.PINNED, Verdict.SUPPORTED):
        lever = _deploy_lever(deploy_issues, lag_levers)
        if lever:
            lag.lever = lever
        if deploy_issues:
            for issue in deploy_issues:
                out.notes.append(f"deploy pipeline — known issue {issue.ref} ({issue.state}): {issue.title}")
        failure_facts = [e for e in seen if e.kind in LAG_IS_THE_FAILURE]
        nothing_pinned = not any(a.verdict is Verdict.PINNED for a in out.hypotheses.values())
        if (
            lag.verdict is Verdict.SUPPORTED
            and nothing_pinned
            and out.primary in (None, "unknown")
            and out.outcome is Outcome.FAILED
            and failure_facts
        ):
            lag.verdict = Verdict.PINNED
            out.primary = "deploy-lag"
            if out.failed_step is None and any(
                e.step == "preflight" and e.hypothesis == "deploy-lag" and e.direction == "for" for e in seen
            ):
                out.failed_step = "preflight"
            pinned_here = True
            first = failure_facts[0].text
            lag.why = (lag.why.replace("SUPPORTED:", "PINNED (primary):", 1) if lag.why.startswith("SUPPORTED:")
                       else f"PINNED (primary): {lag.why}")
            out.mechanism = (
                "The tenants do not run the merged build: the deploy pipeline itself failed or "
                f"never ran ({first[:200].strip()}), so the fleet keeps the old image."
            )
            if out.signature.startswith("unknown@"):
                out.signature = "deploy-lag@" + out.signature.split("@", 1)[1]
        if lag.verdict is Verdict.PINNED:
            out.lever = lag.lever or out.lever
        elif lag_levers and out.primary not in (None, "unknown"):
            # A fixed mechanism recurs because its fix is not deployed: deploying is the lever today.
            mechanism_lever = out.lever or out.hypotheses[out.primary].lever
            out.lever = f"{lag_levers[0][0].upper()}{lag_levers[0][1:]}." + (
                f" The mechanism fix itself is already merged: {mechanism_lever}" if mechanism_lever else ""
            )

    _refresh_headline(analysis, out, pinned_here)

    # 4. History: record this run, then say how often its signature was seen.
    if history_db is not None:
        _history(out, history_db, run_id or _default_run_id(out), run_at, now)  # type: ignore[arg-type]
    return out


def _history(out: Analysis, db: str | Path, run_id: str, run_at: datetime, now: datetime) -> None:
    signature = signature_of(out)
    row = history.RunRow(
        run_id=run_id,
        run_at=run_at,
        outcome=out.outcome.value,
        primary=out.primary,
        classes=classes_of(out),
        failed_step=out.failed_step,
        signature=signature,
        deployed_sha=str(out.context.get("deployed_sha")) if out.context.get("deployed_sha") else None,
        sources=tuple(out.sources),
    )
    try:
        with closing(history.connect(db)) as conn:
            history.record(conn, row, now=now)
            stats = history.recurrence(conn, signature, HISTORY_WINDOW)
    except (history.HistoryError, sqlite3.Error) as exc:
        out.notes.append(f"history not recorded: {exc}")
        return
    out.context["run_id"] = out.context.get("run_id") or run_id
    out.context["history"] = {
        "db": str(db),
        "signature": signature,
        "seen": stats.seen,
        "window": stats.window,
        "total_seen": stats.total_seen,
        "first_seen": history.iso(stats.first_seen) if stats.first_seen else None,
        "last_green": history.iso(stats.last_green) if stats.last_green else None,
    }
    if out.outcome is not Outcome.PASSED:
        out.notes.append(f"this failure signature was {stats.sentence()}")
