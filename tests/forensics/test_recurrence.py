"""recurrence.enrich: "#2917-class, recurring after its fix was merged — is the fix deployed?"."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import known_issues as registry
from forensics import recurrence
from forensics.model import HYPOTHESES, Outcome, Verdict
from tests.forensics.deploy_helpers import (
    analysis,
    ev,
    issue_2917,
    make_repo,
    restart_analysis,
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    return make_repo(tmp_path_factory.mktemp("git"))


def pinned(a) -> list[str]:
    return [h for h, x in a.hypotheses.items() if x.verdict is Verdict.PINNED]


def assert_invariant(a) -> None:
    assert len(a.hypotheses) == 5
    assert pinned(a) == ([a.primary] if a.primary not in (None, "unknown") else [])


def test_fix_not_deployed_supports_deploy_lag_via_git(repo) -> None:
    before = restart_analysis(f"[15:30:02]     /buildinfo git_sha={repo.base[:8]}")
    out = recurrence.enrich(before, repo_path=repo.path, known=[issue_2917(repo.fix)])
    notes = "\n".join(out.notes)
    assert f"#2917-class, recurring after its fix was merged ({repo.fix}, #2931, 2026-06-15 11:10 UTC) — is the fix deployed?" in notes
    assert "fix not deployed → deploy-lag supported" in notes and "git merge-base --is-ancestor" in notes
    lag = out.hypotheses["deploy-lag"]
    assert lag.verdict is Verdict.SUPPORTED
    assert "#2931 is merged" in lag.why
    assert any(e.line == 1 for e in lag.evidence)  # the /buildinfo line
    assert lag.lever and "publish the image, then redeploy staging" in lag.lever
    assert out.primary == "destructive-restart"  # the mechanism stays the pinned cause
    assert "#2917" in out.refs
    assert out.context["deploy_checks"][0]["method"] == "git"
    assert_invariant(out)
    # the input is not mutated
    assert before.notes == [] and before.hypotheses["deploy-lag"].verdict is Verdict.NOT_EVIDENCED


def test_fix_deployed_is_a_regression_not_deploy_lag(repo) -> None:
    out = recurrence.enrich(restart_analysis(f"/buildinfo git_sha={repo.later}"), repo_path=repo.path,
                            known=[issue_2917(repo.fix)])
    notes = "\n".join(out.notes)
    assert "regression: the fix is live yet the failure recurs" in notes and "reopen #2917" in notes
    assert out.hypotheses["deploy-lag"].verdict is Verdict.RULED_OUT
    assert "regression, not deploy lag" in out.hypotheses["deploy-lag"].why
    assert_invariant(out)


def test_time_only_comparison_is_said(repo) -> None:
    out = recurrence.enrich(
        restart_analysis("[15:30:02]     /buildinfo git_sha=a962ea05 build_time=2026-06-15T09:02:11Z"),
        known=[issue_2917(repo.fix)],
    )
    notes = "\n".join(out.notes)
    assert "time-only comparison" in notes and "fix not deployed" in notes
    assert out.hypotheses["deploy-lag"].verdict is Verdict.SUPPORTED
    assert "(time-only)" in out.hypotheses["deploy-lag"].why


def test_no_buildinfo_asks_the_question_without_answering(repo) -> None:
    out = recurrence.enrich(restart_analysis(None), known=[issue_2917(repo.fix)])
    notes = "\n".join(out.notes)
    assert "is the fix deployed?" in notes and "cannot tell whether the fix is deployed" in notes
    assert out.hypotheses["deploy-lag"].verdict is Verdict.NOT_EVIDENCED


def test_run_before_the_merge_is_not_called_recurring(repo) -> None:
    early = analysis(
        [ev(4, "08:33:46", "a2a-restart-triggered", "container restart triggered", "destructive-restart")],
        {"destructive-restart": Verdict.PINNED}, "destructive-restart",
    )
    out = recurrence.enrich(early, known=[issue_2917(repo.fix)])
    assert not any("recurring" in n for n in out.notes)
    assert any("this run predates its fix" in n for n in out.notes)


def test_preflight_mismatch_pins_deploy_lag_when_nothing_else_is_pinned() -> None:
    mismatch = ev(16, "13:20:09", "deploy-lag",
                  "::error::staging /buildinfo git_sha=a962ea05 but this run expects ccdd20d2 — staging redeploy did not run",
                  "deploy-lag", signature="deploy-buildinfo-mismatch", step="preflight")
    engine = analysis([mismatch], {"deploy-lag": Verdict.SUPPORTED}, "unknown")
    out = recurrence.enrich(engine, known=registry.load())
    assert out.primary == "deploy-lag" and out.failed_step == "preflight"
    assert out.hypotheses["deploy-lag"].verdict is Verdict.PINNED
    assert out.lever and "workflow_dispatch redeploy-tenants-on-staging.yml" in out.lever
    assert "#2940" in out.refs
    assert_invariant(out)


def test_deploy_lag_is_not_pinned_over_another_pinned_cause() -> None:
    timeline = [
        ev(1, "15:30:02", "deploy-lag", "/buildinfo git_sha=a962ea05 but this run expects ccdd20d2",
           "deploy-lag", signature="deploy-buildinfo-mismatch", step="preflight"),
        ev(4, "15:35:15", "a2a-restart-triggered", "container restart triggered", "destructive-restart"),
    ]
    engine = analysis(timeline, {"destructive-restart": Verdict.PINNED, "deploy-lag": Verdict.SUPPORTED},
                      "destructive-restart")
    out = recurrence.enrich(engine, known=registry.load())
    assert out.primary == "destructive-restart"
    assert out.hypotheses["deploy-lag"].verdict is Verdict.SUPPORTED
    assert_invariant(out)


def test_passed_run_is_never_pinned() -> None:
    ok = ev(3, "10:00:00", "deploy-fleet-ok", "redeploy-fleet: ok=true total=3 healthy=3", "deploy-lag",
            direction="against")
    out = recurrence.enrich(analysis([ok], {}, None, outcome=Outcome.PASSED), known=registry.load())
    assert out.primary is None and pinned(out) == []


def test_shipped_registry_loads_and_rejects_bad_entries() -> None:
    issues = {i.id: i for i in registry.load()}
    assert issues["2917"].fix_commit == "ccdd20d2" and issues["2917"].fix_pr == "#2931"
    assert issues["2917"].merged == datetime(2026, 6, 15, 11, 10, tzinfo=timezone.utc)
    assert {"2940", "2943", "redeploy-fleet-provider", "rule-8-prod-redaction"} <= set(issues)
    assert all(i.lever for i in issues.values())
    with pytest.raises(registry.KnownIssueError, match="hypothesis"):
        registry.parse({"issue": [{"id": "x", "ref": "#1", "title": "t", "hypothesis": "nope"}]})
    with pytest.raises(registry.KnownIssueError, match="not a hex SHA"):
        registry.parse({"issue": [{"id": "x", "ref": "#1", "title": "t", "hypothesis": "deploy-lag",
                                   "fix_commits": ["main"]}]})
    with pytest.raises(registry.KnownIssueError, match="duplicate"):
        registry.parse({"issue": [{"id": "x", "ref": "#1", "title": "t", "hypothesis": "deploy-lag"}] * 2})


LINES = [
    "::error::redeploy-fleet reported failure (HTTP 500 ok=false total=3 healthy=0)",
    "#18 pushing manifest for ghcr.io/molecule-ai/platform-tenant:staging-ccdd20d@sha256:3b9c 0.9s done",
    "POST https://staging-api.moleculesai.app/cp/admin/tenants/redeploy-fleet",
    "staging /buildinfo git_sha=a962ea05 but this run expects ccdd20d2 — staging redeploy did not run",
    "    /buildinfo git_sha=a962ea05 build_time=2026-06-15T09:02:11Z",
    "::error file=x.yml::Rule 8 (FATAL): production deploy workflow appears to print a raw production CP response",
    'A2A agent-origin 503: {"error":"workspace agent unreachable — container restart triggered","restarting":true}',
    "redeploy-fleet: ok=true total=3 healthy=3",
]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.tuples(st.sampled_from(LINES + ["noise", ""]), st.one_of(st.none(), st.integers(0, 86399))),
                   max_size=8),
    verdicts=st.dictionaries(st.sampled_from(HYPOTHESES), st.sampled_from(list(Verdict)), max_size=5),
    outcome=st.sampled_from(list(Outcome)),
)
def test_enrich_keeps_the_invariants(picks, verdicts, outcome) -> None:
    timeline = [ev(i + 1, f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" if s is not None else None, "x", text)
                for i, (text, s) in enumerate(picks)]
    pinned_in = [h for h, v in verdicts.items() if v is Verdict.PINNED]
    if len(pinned_in) > 1:
        for h in pinned_in[1:]:
            verdicts[h] = Verdict.SUPPORTED
    primary = pinned_in[0] if pinned_in else ("unknown" if outcome is not Outcome.PASSED else None)
    out = recurrence.enrich(analysis(timeline, verdicts, primary, outcome=outcome), known=registry.load(),
                            now=datetime(2026, 6, 16, tzinfo=timezone.utc))
    assert list(out.hypotheses) == list(HYPOTHESES)
    assert_invariant(out)
    if outcome is Outcome.PASSED:
        assert out.primary is None or out.primary == primary
