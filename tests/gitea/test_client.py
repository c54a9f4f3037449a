"""GiteaClient against the fake Gitea: paging, retries, Retry-After, one-line errors."""

from __future__ import annotations

import re

import httpx
import pytest

from forensics.gitea import GiteaClient, GiteaError, normalize_base_url, parse_repo, parse_retry_after
from tests.gitea.fake_gitea import CANARY, FakeGitea, check_response

OWNER, REPO = "acme", "platform"


def client(fake: FakeGitea, **kw: object) -> GiteaClient:
    return GiteaClient(fake.url, fake.token, backoff=0.05, **kw)  # type: ignore[arg-type]


def test_sends_token_header_and_follows_pages(fake: FakeGitea) -> None:
    for i in range(120):
        fake.add_label(OWNER, REPO, f"label-{i:03d}")
    with client(fake) as gitea:
        labels = gitea.list_labels(OWNER, REPO)
    assert sorted(lbl.name for lbl in labels) == [f"label-{i:03d}" for i in range(120)]
    calls = fake.calls("issueListLabels")
    assert [c.query["page"] for c in calls] == [["1"], ["2"], ["3"]]
    assert all(c.authorization == f"token {fake.token}" for c in fake.requests)


def test_fake_link_header_follows_gitea_order(fake: FakeGitea) -> None:
    for i in range(7):
        fake.add_label(OWNER, REPO, f"l{i}")
    auth = {"Authorization": f"token {fake.token}"}
    with httpx.Client(base_url=fake.url + "/api/v1", headers=auth, timeout=5) as http:
        middle = http.get("/repos/acme/platform/labels", params={"limit": 3, "page": 2})
        single = http.get("/repos/acme/platform/labels", params={"limit": 50})
    rels = re.findall(r'rel="(\w+)"', middle.headers["Link"])
    assert rels == ["next", "last", "first", "prev"] and ", " not in middle.headers["Link"]
    assert middle.headers["X-Total-Count"] == "7" and len(middle.json()) == 3
    assert "Link" not in single.headers and single.headers["X-Total-Count"] == "7"


def test_fake_checks_its_own_answers(fake: FakeGitea) -> None:
    op = next(o for o in fake.operations if o.operation_id == "issueEditIssue")
    assert check_response(fake.spec, op, 201, {"number": 1, "state": "open"}) == []
    assert check_response(fake.spec, op, 201, {"number": "one"})          # wrong type
    assert check_response(fake.spec, op, 201, {"number": 1, "colour": 2})  # undeclared field
    assert check_response(fake.spec, op, 200, {"number": 1})              # PATCH issue answers 201
    assert check_response(fake.spec, op, 500, None) == []                 # undeclared-but-real status


def test_open_issue_listing_excludes_pulls_and_closed(fake: FakeGitea) -> None:
    fake.add_issue(OWNER, REPO, "Gate red", labels=("staging-gate",), pull=True)
    fake.add_issue(OWNER, REPO, "Gate red", labels=("staging-gate",), state="closed")
    wanted = fake.add_issue(OWNER, REPO, "Gate red", labels=("staging-gate",))
    fake.add_issue(OWNER, REPO, "Other", labels=("bug",))
    with client(fake) as gitea:
        issues = gitea.list_open_issues(OWNER, REPO, "staging-gate")
    assert [i.number for i in issues] == [wanted["number"]]
    assert fake.calls("issueListIssues")[0].query["type"] == ["issues"]


def test_429_then_200_honours_retry_after(fake: FakeGitea) -> None:
    fake.add_issue(OWNER, REPO, "x")
    fake.fail(429, retry_after="1", path=r"/issues/1$")
    with client(fake) as gitea:
        issue = gitea.get_issue(OWNER, REPO, 1)
    assert issue.number == 1
    first, second = fake.calls("issueGetIssue")
    assert second.at - first.at >= 0.9, "Retry-After: 1 was not honoured"


def test_500_then_200_is_retried(fake: FakeGitea) -> None:
    fake.add_issue(OWNER, REPO, "x")
    fake.fail(500, times=2)
    with client(fake) as gitea:
        assert gitea.get_issue(OWNER, REPO, 1).title == "x"
    assert len(fake.calls("issueGetIssue")) == 3


def test_503_html_exhausts_retries_with_one_safe_line(fake: FakeGitea) -> None:
    fake.fail(503, times=10, html=True)
    with client(fake, attempts=3) as gitea, pytest.raises(GiteaError) as err:
        gitea.list_comments(OWNER, REPO, 1)
    message = str(err.value)
    assert err.value.status == 503 and "HTTP 503" in message and "\n" not in message
    assert CANARY not in message and fake.token not in message
    assert len(fake.calls("issueGetComments")) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(fake: FakeGitea, status: int) -> None:
    fake.add_issue(OWNER, REPO, "x")
    fake.fail(status, times=5)
    with client(fake) as gitea, pytest.raises(GiteaError) as err:
        gitea.create_comment(OWNER, REPO, 1, "body")
    assert err.value.status == status and f"HTTP {status}" in str(err.value)
    assert CANARY not in str(err.value)
    assert len(fake.calls("issueCreateComment")) == 1


def test_slow_answer_times_out(fake: FakeGitea) -> None:
    fake.add_issue(OWNER, REPO, "x")
    fake.fail(None, delay=3.0)
    with client(fake, timeout=0.3) as gitea, pytest.raises(GiteaError) as err:
        gitea.get_issue(OWNER, REPO, 1)
    assert err.value.status is None and "timed out" in str(err.value)


def test_patch_issue_accepts_201(fake: FakeGitea) -> None:
    fake.add_issue(OWNER, REPO, "x")
    with client(fake) as gitea:
        closed = gitea.set_issue_state(OWNER, REPO, 1, "closed")
    assert closed.state == "closed" and fake.repo(OWNER, REPO).issues[1]["state"] == "closed"


def test_run_logs_must_be_a_zip_and_nothing_is_kept(fake: FakeGitea, tmp_path) -> None:
    fake.repo(OWNER, REPO).run_logs[5] = b"<html>login</html>"
    out = tmp_path / "run.zip"
    with client(fake) as gitea, pytest.raises(GiteaError, match="not a zip"):
        gitea.download_run_logs(OWNER, REPO, 5, out)
    assert list(tmp_path.iterdir()) == []


def test_large_job_log_streams_to_file(fake: FakeGitea, tmp_path) -> None:
    log = b"".join(b"2025-06-04T10:16:%02d.0000000Z line %d\n" % (i % 60, i) for i in range(200_000))
    fake.add_job(OWNER, REPO, 3, "boot", log)
    fake.repo(OWNER, REPO).job_logs[3] = log
    with client(fake) as gitea:
        size = gitea.download_job_log(OWNER, REPO, 3, tmp_path / "job.log")
    assert size == len(log) and (tmp_path / "job.log").read_bytes() == log


def test_helpers_validate_input() -> None:
    assert parse_repo("acme/platform") == ("acme", "platform")
    for bad in ("acme", "a/b/c", "/x", "../x", "a/b?x=1", "a/b#c", "a /b"):
        with pytest.raises(ValueError):
            parse_repo(bad)
    assert normalize_base_url("https://git.example.com/api/v1/") == "https://git.example.com"
    with pytest.raises(ValueError):
        normalize_base_url("git.example.com")
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_fake_rejects_requests_outside_the_subset(fake: FakeGitea) -> None:
    """The contract check itself: an undeclared query parameter, a wrong body and an unknown path."""
    auth = {"Authorization": f"token {fake.token}"}
    with httpx.Client(base_url=fake.url + "/api/v1", headers=auth, timeout=5) as http:
        assert http.get("/repos/acme/platform/issues", params={"per_page": "5"}).status_code == 400
        assert http.post("/repos/acme/platform/labels", json={"name": "x"}).status_code == 400   # color required
        assert http.post("/repos/acme/platform/labels", json={"name": "x", "color": "#aabbcc", "colour": 1}).status_code == 400
        assert http.get("/repos/acme/platform/issues", params={"state": "opened"}).status_code == 400
        assert http.get("/repos/acme/platform/issues/abc").status_code == 400
        assert http.get("/repos/acme/platform/wiki/pages").status_code == 404
        assert http.get("/repos/acme/platform/labels", headers={"Authorization": "token wrong"}).status_code == 401
        assert http.get("/repos/acme/platform/labels", headers={"Authorization": f"Bearer {fake.token}"}).status_code == 200
    assert len(fake.violations) == 6, fake.violations
    fake.violations.clear()
