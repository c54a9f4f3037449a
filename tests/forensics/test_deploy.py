"""Deployed build vs fix: git ancestry (real repo), Gitea compare (real HTTP server), time-only."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from forensics import deploy
from tests.forensics.deploy_helpers import FIX_MERGED, analysis, ev, make_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    return make_repo(tmp_path_factory.mktemp("git"))


def build(sha: str, built: str | None = None) -> deploy.DeployedBuild:
    return deploy.DeployedBuild(sha=sha, build_time=deploy.parse_time(built))


def test_git_ancestry_gives_both_answers(repo) -> None:
    assert deploy.git_contains(repo.path, repo.fix, repo.later) == (True, "")
    assert deploy.git_contains(repo.path, repo.fix, repo.base) == (False, "")
    assert deploy.git_contains(repo.path, repo.fix, repo.hotfix) == (False, "")
    # Short SHAs (as /buildinfo prints them) work too.
    assert deploy.git_contains(repo.path, repo.fix[:8], repo.later[:8]) == (True, "")


def test_git_unknown_commit_is_unknown_not_false(repo, tmp_path: Path) -> None:
    answer, why = deploy.git_contains(repo.path, repo.fix, "deadbeefdeadbeef")
    assert answer is None and "not in the clone" in why
    answer, why = deploy.git_contains(tmp_path / "nope", repo.fix, repo.later)
    assert answer is None and "not a directory" in why


def test_check_with_repo_path_names_git(repo) -> None:
    live = deploy.check(repo.fix, FIX_MERGED, build(repo.later), repo_path=repo.path)
    assert (live.contains_fix, live.method, live.certain) == (True, "git", True)
    assert "is an ancestor of" in live.detail and "merge-base --is-ancestor" in live.detail
    stale = deploy.check(repo.fix, FIX_MERGED, build(repo.hotfix, "2026-06-15T12:30:00Z"), repo_path=repo.path)
    # Built AFTER the merge yet without the fix: only git can tell; time would have said "probably".
    assert (stale.contains_fix, stale.method) == (False, "git")
    assert "NOT an ancestor" in stale.detail


def test_time_only_fallback_is_labelled() -> None:
    before = deploy.check("ccdd20d2", FIX_MERGED, build("a962ea05", "2026-06-15T09:02:11Z"))
    assert (before.contains_fix, before.method, before.certain) == (False, "time-only", True)
    assert before.detail.startswith("time-only comparison:")
    assert "2026-06-15 09:02 UTC" in before.detail and "2026-06-15 11:10 UTC" in before.detail
    after = deploy.check("ccdd20d2", FIX_MERGED, build("b1b2b3b4", "2026-06-15T12:30:00Z"))
    assert (after.contains_fix, after.method, after.certain) == (True, "time-only", False)
    assert "not proof" in after.detail
    unknown = deploy.check("ccdd20d2", FIX_MERGED, build("b1b2b3b4"))
    assert unknown.contains_fix is None and unknown.method == "none"
    assert "cannot tell" in unknown.detail and "no deployed build time" in unknown.detail
    nothing = deploy.check("ccdd20d2", FIX_MERGED, None)
    assert nothing.contains_fix is None and "no deployed /buildinfo SHA" in nothing.detail


def test_repo_path_without_the_commit_falls_back_to_time(repo) -> None:
    result = deploy.check("0123456789abcdef", FIX_MERGED, build(repo.base, "2026-06-15T09:00:00Z"), repo_path=repo.path)
    assert result.method == "time-only" and result.contains_fix is False
    assert "not in the clone" in result.detail


class _CompareHandler(BaseHTTPRequestHandler):
    """Gitea's compare endpoint, answered from a real git repository (rev-list base..head)."""

    repo: Path
    seen_auth: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.seen_auth.append(self.headers.get("Authorization", ""))
        prefix = "/api/v1/repos/molecule-ai/molecule-core/compare/"
        if not self.path.startswith(prefix) or "..." not in self.path:
            return self._send(404, {"message": "not found"})
        base, head = self.path[len(prefix):].split("...", 1)
        merge_base = subprocess.run(["git", "-C", str(self.repo), "merge-base", base, head],
                                    capture_output=True, text=True)
        if merge_base.returncode != 0:
            return self._send(404, {"message": "not found"})
        revs = subprocess.run(["git", "-C", str(self.repo), "rev-list", f"{merge_base.stdout.strip()}..{head}"],
                              capture_output=True, text=True, check=True).stdout.split()
        self._send(200, {"total_commits": len(revs), "commits": [{"sha": r} for r in revs]})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def gitea_server(repo):
    handler = type("Handler", (_CompareHandler,), {"repo": repo.path, "seen_auth": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_gitea_compare_gives_both_answers(repo, gitea_server) -> None:
    url, handler = gitea_server
    gitea = deploy.GiteaRepo(url, "molecule-ai/molecule-core", token="s3cr3t-token-value")
    live = deploy.check(repo.fix, FIX_MERGED, build(repo.later), gitea=gitea)
    stale = deploy.check(repo.fix, FIX_MERGED, build(repo.hotfix, "2026-06-15T12:30:00Z"), gitea=gitea)
    assert (live.contains_fix, live.method) == (True, "gitea")
    assert (stale.contains_fix, stale.method) == (False, "gitea")
    assert handler.seen_auth[0] == "token s3cr3t-token-value"
    assert "s3cr3t" not in live.detail + stale.detail
    missing = deploy.check("0123456789abcdef", FIX_MERGED, build(repo.base, "2026-06-15T09:00:00Z"), gitea=gitea)
    assert missing.method == "time-only" and "Gitea does not know" in missing.detail


def test_gitea_unreachable_falls_back_without_traceback() -> None:
    gitea = deploy.GiteaRepo("http://127.0.0.1:9", "o/r")  # discard port: connection refused
    result = deploy.check("ccdd20d2", FIX_MERGED, build("a962ea05", "2026-06-15T09:02:11Z"), gitea=gitea)
    assert result.method == "time-only" and "Gitea compare failed" in result.detail


@pytest.mark.parametrize(
    ("kind", "text", "sha", "expected", "built"),
    [
        ("deploy-buildinfo", "[15:30:02]     /buildinfo git_sha=a962ea05 build_time=2026-06-15T09:02:11Z",
         "a962ea05", None, datetime(2026, 6, 15, 9, 2, 11, tzinfo=timezone.utc)),
        ("deploy-lag",
         "##[error]staging /buildinfo git_sha=1f0e2d3c but this run expects 8e7d6c5b — staging redeploy did not run",
         "1f0e2d3c", "8e7d6c5b", None),
        ("deploy-lag", "::error::hzpig2 is stale: actual=a962ea0, expected=ccdd20d (waited 300s)",
         "a962ea0", "ccdd20d", None),
        ("deploy-buildinfo", 'buildinfo: {"git_sha":"A962EA05","build_time":"2026-06-15T09:02:11Z"}',
         "a962ea05", None, datetime(2026, 6, 15, 9, 2, 11, tzinfo=timezone.utc)),
    ],
)
def test_deployed_build_from_the_log(kind: str, text: str, sha: str, expected: str | None, built) -> None:
    found = deploy.deployed_build(analysis([ev(7, "13:20:09", kind, text)], {}, "unknown"))
    assert found is not None
    assert (found.sha, found.expected_sha, found.build_time) == (sha, expected, built)
    assert found.event is not None and found.event.line == 7


def test_deployed_build_prefers_context() -> None:
    a = analysis([ev(7, "13:20:09", "deploy-buildinfo", "/buildinfo git_sha=a962ea05")], {}, "unknown")
    a.context.update({"deployed_sha": "ccdd20d2", "build_time": "2026-06-15T12:00:00Z"})
    found = deploy.deployed_build(a)
    assert found is not None and found.sha == "ccdd20d2" and found.build_time == FIX_MERGED.replace(hour=12, minute=0)
    assert deploy.deployed_build(analysis([ev(1, None, "step", "x")], {}, "unknown")) is None


def test_published_without_redeploy_is_derived_only_when_nothing_follows() -> None:
    published = ev(20, "11:12:03", "deploy-image-published",
                   "#18 pushing manifest for ghcr.io/molecule-ai/platform-tenant:staging-ccdd20d@sha256:3b9c 0.9s done",
                   source="build.log")
    boot = ev(5, "13:20:09", "deploy-lag", "git_sha=a962ea05 but this run expects ccdd20d2",
              "deploy-lag", signature="deploy-buildinfo-mismatch", step="preflight")
    derived = deploy.published_without_redeploy([published, boot])
    assert len(derived) == 1
    assert (derived[0].source, derived[0].line, derived[0].kind) == ("build.log", 20, deploy.DERIVED_NO_REDEPLOY)
    assert derived[0].text == published.text
    redeploy = ev(21, "11:13:00", "deploy-redeploy-started",
                  "POST https://staging-api.moleculesai.app/cp/admin/tenants/redeploy-fleet", source="build.log")
    assert deploy.published_without_redeploy([published, redeploy, boot]) == []
    assert deploy.published_without_redeploy([boot]) == []


def test_enrich_asks_gitea_for_the_known_issues_repo(repo, gitea_server) -> None:
    from forensics import recurrence
    from forensics.model import Verdict
    from tests.forensics.deploy_helpers import issue_2917, restart_analysis

    url, _handler = gitea_server
    out = recurrence.enrich(restart_analysis(f"/buildinfo git_sha={repo.base[:8]}"),
                            gitea=deploy.GiteaRepo(url, token="t0k3n-value"), known=[issue_2917(repo.fix)])
    check = out.context["deploy_checks"][0]
    assert (check["method"], check["contains_fix"]) == ("gitea", False)
    assert "Gitea compare molecule-ai/molecule-core" in check["detail"]
    assert out.hypotheses["deploy-lag"].verdict is Verdict.SUPPORTED


EXAMPLES = {
    "deploy-image-published": "#18 pushing manifest for ghcr.io/molecule-ai/platform-tenant:staging-ccdd20d@sha256:3b 0.9s done",
    "deploy-redeploy-fleet-call": "POST https://staging-api.moleculesai.app/cp/admin/tenants/redeploy-fleet",
    "deploy-buildinfo-recorded": "[13:20:09]     deployed build git_sha=a962ea05",
    "redeploy-fleet-all-healthy": "redeploy-fleet: ok=true total=3 healthy=3",
    "redeploy-stragglers": '  "stragglers": ["hzdbg24819", "hzpig2", "e2e-20260613-368112-0c1d2e3f"]',
    "preflight-buildinfo-verified": "[10:00:01] ✅ Deployed build verified: git_sha=ccdd20d2 matches expected ccdd20d2",
    "deploy-failure-swallowed": "::error file=p.yml,line=328:: job 'deploy-staging' continue-on-error: true references internal#462, but",
    "deploy-lint-rule8-gate": "::error file=p.yml::Rule 8 (FATAL): production deploy workflow appears to print a raw production CP response",
}


def test_every_deploy_workflow_signature_has_a_grep_E_example() -> None:
    from forensics.signatures import load_signatures

    mine = {s.id: s for s in load_signatures() if s.family == "deploy-workflow"}
    assert set(mine) == set(EXAMPLES)
    for sid, line in EXAMPLES.items():
        grep = subprocess.run(["grep", "-E", "-c", mine[sid].pattern], input=line + "\n", capture_output=True, text=True)
        assert grep.stdout.strip() == "1", (sid, grep.stderr)
    # near misses that must not count as evidence
    assert not re.search(mine["deploy-failure-swallowed"].pattern, "checking continue-on-error: true references in *.yml")
    assert not re.search(mine["deploy-buildinfo-recorded"].pattern, "/buildinfo git_sha=a962ea05 but this run expects ccdd20d2")


def test_a_deployed_build_that_is_the_fix_commit_itself_contains_the_fix() -> None:
    from forensics.deploy import DeployedBuild, check

    same = check("ccdd20d2", None, DeployedBuild(sha="ccdd20d29866b8573566267f2ef8c62fa159c57b"))
    assert same.contains_fix is True and same.method == "same-commit"
    other = check("ccdd20d2", None, DeployedBuild(sha="a962ea05aaaaaaaa"))
    assert other.contains_fix is None and other.method == "none"
