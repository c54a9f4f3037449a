"""The seed's deploy-workflow failures, end to end: logs -> analyze -> recurrence.enrich -> markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics import recurrence
from forensics.analyze import analyze
from forensics.model import Verdict
from forensics.render import render
from tests.forensics.deploy_helpers import issue_2917, make_repo

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "logs" / "deploy"


def run_case(name: str, **kw: object):
    paths = [str(p) for p in sorted((FIXTURES / name).glob("*.log"))]
    assert paths, name
    return recurrence.enrich(analyze(paths), **kw)


def only_pinned(a) -> list[str]:
    return [h for h, x in a.hypotheses.items() if x.verdict is Verdict.PINNED]


def assert_evidence_is_real(a) -> None:
    for assessment in a.hypotheses.values():
        for item in assessment.evidence:
            lines = Path(item.source).read_bytes().decode("utf-8", "replace").split("\n")
            assert item.text.strip() in lines[item.line - 1], (item.source, item.line)


def test_publish_without_redeploy_pins_deploy_lag_with_the_redeploy_lever() -> None:
    out = run_case("publish-no-redeploy")
    assert (out.primary, out.failed_step, only_pinned(out)) == ("deploy-lag", "preflight", ["deploy-lag"])
    assert "workflow_dispatch redeploy-tenants-on-staging.yml" in (out.lever or "")
    assert "#2940" in out.refs
    assert any("this run expects ccdd20d2, the #2931 fix for #2917" in n and "fixed but not deployed" in n
               for n in out.notes)
    assert any(n.startswith("image published (2026-06-15 11:13 UTC) but no redeploy ran after it") for n in out.notes)
    derived = [e for e in out.hypotheses["deploy-lag"].evidence if "pushing manifest" in e.text]
    assert derived and derived[0].source.endswith("build-and-push-508211.log")
    assert_evidence_is_real(out)
    md = render(out, "md")
    assert "published is not deployed" in md and "redeploy-tenants-on-staging.yml" in md


def test_redeploy_fleet_500_pins_deploy_lag_with_provider_and_desilence_levers() -> None:
    out = run_case("redeploy-fleet-500")
    assert out.primary == "deploy-lag" and only_pinned(out) == ["deploy-lag"]
    lever = out.lever or ""
    assert "provider-aware" in lever and "RedeployTenantWithOpts" in lever
    assert "continue-on-error: false" in lever
    assert any("redeploy-fleet is provider-blind" in n for n in out.notes)
    assert any("continue-on-error: true" in n for n in out.notes)
    md = render(out, "md")
    assert "ValidationException" in md and "mol-hzdbg24819-8aaebec0" in md and "provider-aware" in md
    assert_evidence_is_real(out)


def test_prod_step_stopped_by_redaction_lint_pins_deploy_lag() -> None:
    out = run_case("prod-rule8")
    assert out.primary == "deploy-lag" and only_pinned(out) == ["deploy-lag"]
    assert out.headline.startswith("Root cause PINNED to deploy-lag")
    assert out.hypotheses["deploy-lag"].why.startswith("PINNED (primary):")
    assert "Rule 8" in (out.lever or "") and "deploy-production" in (out.lever or "")
    assert out.signature.startswith("deploy-lag@")
    md = render(out, "md")
    assert "Rule 8 (FATAL)" in md and "PINNED" in md


def test_recurrence_fixture_tells_the_seed_story_time_only() -> None:
    out = run_case("recurrence")
    assert out.primary == "destructive-restart" and only_pinned(out) == ["destructive-restart"]
    assert out.hypotheses["deploy-lag"].verdict is Verdict.SUPPORTED
    md = render(out, "md")
    assert "#2917-class, recurring after its fix was merged (ccdd20d2, #2931, 2026-06-15 11:10 UTC) — is the fix deployed?" in md
    assert "time-only comparison" in md
    assert "deploy-lag supported" in out.headline
    assert (out.lever or "").startswith("Deploy the #2931 fix")


@pytest.mark.parametrize("deployed", ["base", "later"])
def test_recurrence_fixture_with_a_real_clone_gives_two_verdicts(tmp_path: Path, deployed: str) -> None:
    repo = make_repo(tmp_path)
    sha = getattr(repo, deployed)
    src = (FIXTURES / "recurrence" / "e2e-staging-platform-boot-510217.log").read_text(encoding="utf-8")
    log = tmp_path / "boot.log"
    log.write_text(src.replace("git_sha=a962ea05 build_time=2026-06-15T09:02:11Z", f"git_sha={sha[:12]}"),
                   encoding="utf-8")
    out = recurrence.enrich(analyze([str(log)]), repo_path=repo.path, known=[issue_2917(repo.fix)])
    assert out.primary == "destructive-restart"
    notes = "\n".join(out.notes)
    assert "git merge-base --is-ancestor" in notes
    if deployed == "base":
        assert "fix not deployed → deploy-lag supported" in notes
        assert out.hypotheses["deploy-lag"].verdict is Verdict.SUPPORTED
    else:
        assert "regression: the fix is live yet the failure recurs" in notes
        assert out.hypotheses["deploy-lag"].verdict is Verdict.RULED_OUT
    assert only_pinned(out) == ["destructive-restart"]


def test_history_reaches_the_markdown(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    for run in ("510101", "510159", "510217"):
        out = run_case("recurrence", history_db=db, run_id=run)
    md = render(out, "md")
    assert "this failure signature was seen in 3 of the last 3 runs" in md
    assert out.context["history"]["total_seen"] == 3
