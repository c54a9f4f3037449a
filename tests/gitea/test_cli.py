"""`forensics fetch | comment | resolve` against the fake Gitea: happy paths through `forensics.cli.main`
in-process, every error path through the real CLI as a subprocess (stdout/stderr checked for leaks)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from forensics.incident import MARKER_RE, signature_of
from tests.gitea.fake_gitea import CANARY, FakeGitea

OWNER, REPO = "acme", "platform"
GATE = ("--repo", f"{OWNER}/{REPO}", "--label", "staging-gate", "--title", "Staging gate: Platform Boot failing")
RCA = """# RCA: destructive-restart pinned at step known-answer (job 506813)

MECHANISM. A single agent-origin A2A 503 self-triggers a container restart.

EVIDENCE
- `08:33:46` A2A parent round-trip succeeded: PONG
"""


def write_rca(tmp: Path, text: str = RCA, signature: str | None = None) -> tuple[Path, Path | None]:
    md = tmp / "rca.md"
    md.write_text(text, encoding="utf-8")
    if signature is None:
        return md, None
    js = tmp / "rca.json"
    js.write_text(json.dumps({"schema": "rca/v1", "signature": signature, "headline": "x"}), encoding="utf-8")
    return md, js


def gate_issues(fake: FakeGitea) -> list[dict]:
    return [i for i in fake.repo(OWNER, REPO).issues.values() if i["title"] == GATE[-1]]


def test_comment_opens_issue_creates_label_and_posts(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    md, js = write_rca(tmp_path, signature="destructive-restart:known-answer")
    result = call_cli("comment", *GATE, "--rca-json", str(js), "--run-id", "101", str(md))
    assert result.code == 0, result.err
    assert "posted RCA comment" in result.out and "(opened the issue)" in result.out
    [issue] = gate_issues(fake)
    assert [lbl["name"] for lbl in issue["labels"]] == ["staging-gate"]
    assert fake.calls("issueCreateLabel") and fake.calls("issueCreateIssue")[0].body["labels"] == [issue["labels"][0]["id"]]
    [comment] = fake.comments_of(OWNER, REPO, issue["number"])
    assert comment["body"].startswith("<!-- forensics:signature=destructive-restart:known-answer -->\n")
    assert "MECHANISM. A single agent-origin A2A 503" in comment["body"] and "run 101" in comment["body"]


def test_rerun_same_signature_edits_and_new_signature_adds(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    md, js = write_rca(tmp_path, signature="destructive-restart:known-answer")
    assert call_cli("comment", *GATE, "--rca-json", str(js), "--run-id", "101", str(md)).code == 0
    url = "https://git.example.com/acme/platform/actions/runs/102"
    again = call_cli("comment", *GATE, "--rca-json", str(js), "--run-id", "102", "--run-url", url, str(md))
    assert again.code == 0 and "updated RCA comment" in again.out
    [issue] = gate_issues(fake)
    [comment] = fake.comments_of(OWNER, REPO, issue["number"])
    sighting = r"^- seen again at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, run \[102\]\(" + re.escape(url) + r"\)$"
    assert re.search(sighting, comment["body"], re.M), comment["body"]
    assert len(fake.calls("issueCreateComment")) == 1 and len(fake.calls("issueEditComment")) == 1
    assert len(fake.calls("issueCreateIssue")) == 1 and len(fake.calls("issueCreateLabel")) == 1

    md2, js2 = write_rca(tmp_path, RCA.replace("destructive-restart", "llm-401"), signature="llm-401:pong")
    third = call_cli("comment", *GATE, "--rca-json", str(js2), "--run-id", "103", str(md2))
    assert third.code == 0 and "posted RCA comment" in third.out
    bodies = [c["body"] for c in fake.comments_of(OWNER, REPO, issue["number"])]
    assert [signature_of(b) for b in bodies] == ["destructive-restart:known-answer", "llm-401:pong"]


def test_analyze_output_feeds_comment(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    """The pipeline end to end: `forensics analyze` on the seed incident log -> rca.md + rca.json ->
    `forensics comment` keyed by the analysis's own signature."""
    seed = Path(__file__).resolve().parents[2] / "fixtures" / "logs" / "seed-506813" / "runner.log"
    assert call_cli("analyze", str(seed), "--format", "md", "--out", "rca.md").code == 0
    assert call_cli("analyze", str(seed), "--format", "json", "--out", "rca.json").code == 0
    expected = json.loads((tmp_path / "rca.json").read_text(encoding="utf-8"))["signature"]
    assert call_cli("comment", *GATE, "--rca-json", "rca.json", "--run-id", "369624", "rca.md").code == 0
    [comment] = fake.comments_of(OWNER, REPO, gate_issues(fake)[0]["number"])
    assert expected and signature_of(comment["body"]) == expected
    first_line = (tmp_path / "rca.md").read_text(encoding="utf-8").splitlines()[0]
    assert first_line in comment["body"] and len(comment["body"]) <= 65_536


def test_signature_falls_back_to_headline_hash(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    fake.add_issue(OWNER, REPO, "anything")
    md, _ = write_rca(tmp_path)
    assert call_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--run-id", "7", str(md)).code == 0
    md.write_text(RCA.replace("506813", "506999"), encoding="utf-8")   # same failure, other job id
    assert call_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--run-id", "8", str(md)).code == 0
    [comment] = fake.comments_of(OWNER, REPO, 1)
    assert MARKER_RE.search(comment["body"]).group("sig").startswith("h-")
    assert "run 8" in comment["body"]


def test_secrets_in_the_rca_are_redacted_before_posting(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    fake.add_issue(OWNER, REPO, "incident")
    leak = f"{RCA}\n- curl -H 'Authorization: Bearer sk-live-abcdef0123456789' (and {fake.token})\n"
    md, _ = write_rca(tmp_path, leak)
    assert call_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--signature", "s", str(md)).code == 0
    [comment] = fake.comments_of(OWNER, REPO, 1)
    assert "sk-live-abcdef0123456789" not in comment["body"] and fake.token not in comment["body"]
    assert comment["body"].count("[REDACTED]") >= 2 and "MECHANISM." in comment["body"]


def test_explicit_issue_that_is_closed_is_reopened(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    fake.add_issue(OWNER, REPO, "old incident", state="closed")
    md, _ = write_rca(tmp_path)
    result = call_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--signature", "cpu-exhaustion", str(md))
    assert result.code == 0, result.err
    assert fake.repo(OWNER, REPO).issues[1]["state"] == "open"
    assert fake.calls("issueEditIssue")[0].body == {"state": "open"}


def test_huge_rca_fits_the_comment_limit(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    md, _ = write_rca(tmp_path, RCA + "```\n" + ("x" * 99 + "\n") * 2000 + "```\n")
    assert call_cli("comment", *GATE, "--signature", "big", str(md)).code == 0
    [comment] = fake.comments_of(OWNER, REPO, gate_issues(fake)[0]["number"])
    assert len(comment["body"]) <= 65_536 and "RCA truncated" in comment["body"]
    assert comment["body"].count("```") % 2 == 0


def test_resolve_comments_green_run_and_closes(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    md, _ = write_rca(tmp_path)
    assert call_cli("comment", *GATE, "--signature", "s1", str(md)).code == 0
    result = call_cli("resolve", *GATE, "--run-id", "200", "--run-url", "https://git.example.com/acme/platform/actions/runs/200")
    assert result.code == 0, result.err
    assert "issue closed" in result.out
    [issue] = gate_issues(fake)
    assert issue["state"] == "closed"
    assert fake.calls("issueEditIssue")[-1].body == {"state": "closed"}
    last = fake.comments_of(OWNER, REPO, issue["number"])[-1]["body"]
    assert "Green again" in last and "actions/runs/200" in last
    again = call_cli("resolve", *GATE, "--run-id", "201")
    assert again.code == 0 and "nothing to resolve" in again.out
    # a new failure after closing opens a fresh incident issue
    assert call_cli("comment", *GATE, "--signature", "s1", str(md)).code == 0
    assert [i["state"] for i in gate_issues(fake)] == ["closed", "open"]


def test_fetch_job_log_and_run_zip(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    log = "2025-06-04T10:16:00.1234567Z runner-1 received task 812\n2025-06-04T10:16:10.3000000Z 🏁  Job failed\n".encode()
    fake.add_job(OWNER, REPO, 812, "boot", log)
    fake.add_run(OWNER, REPO, 77, {"boot.log": log, "lint.log": b"ok\n"})
    job = call_cli("fetch", "--repo", f"{OWNER}/{REPO}", "--job", "812", "--out", "logs/job.log")
    assert job.code == 0, job.err
    assert (tmp_path / "logs/job.log").read_bytes() == log
    run = call_cli("fetch", "--repo", f"{OWNER}/{REPO}", "--run", "77")
    assert run.code == 0, run.err
    with zipfile.ZipFile(tmp_path / "run-77-logs.zip") as archive:
        assert sorted(archive.namelist()) == ["boot.log", "lint.log"]
        assert archive.read("boot.log") == log
    assert not list(tmp_path.rglob("*.tmp"))


# ---- error paths: one line on stderr, non-zero exit, no token, no raw body -------------------


def assert_one_safe_line(result, fake: FakeGitea, *expect: str) -> None:
    assert result.code != 0
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("forensics: error: "), lines[0]
    for text in expect:
        assert text in lines[0], lines[0]
    for leak in (fake.token, CANARY, "Traceback", "<html"):
        assert leak not in result.err + result.out


ERRORS = [
    # (name, fault kwargs, expected fragments)
    ("401", dict(status=401, times=9), ("HTTP 401", "GITEA_TOKEN")),
    ("403", dict(status=403, times=9), ("HTTP 403",)),
    ("404", dict(status=404, times=9), ("HTTP 404",)),
    ("422", dict(status=422, times=9, method="POST"), ("HTTP 422", "comment on issue")),
    ("423", dict(status=423, times=9, method="POST"), ("HTTP 423", "archived")),
    ("500", dict(status=500, times=9), ("HTTP 500", "retries exhausted")),
    ("503-html", dict(status=503, times=9, html=True), ("HTTP 503",)),
    ("429", dict(status=429, times=9, retry_after="0"), ("HTTP 429",)),
    ("slow", dict(status=None, times=9, delay=3.0), ("timed out",)),
]


@pytest.mark.parametrize("name,fault,expect", ERRORS, ids=[e[0] for e in ERRORS])
def test_comment_error_paths(fake: FakeGitea, run_cli, tmp_path: Path, name: str, fault: dict, expect: tuple) -> None:
    fake.add_issue(OWNER, REPO, "incident")
    fake.fail(**fault)
    md, _ = write_rca(tmp_path)
    result = run_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--retries", "0", "--timeout", "0.5", str(md))
    assert_one_safe_line(result, fake, *expect)
    assert result.code == 3
    assert fake.comments_of(OWNER, REPO, 1) == []


@pytest.mark.parametrize("raw", [b'{"id": "x"}', b"[1, 2]", b"<html>proxy login</html>"])
def test_malformed_answer_is_one_line(fake: FakeGitea, run_cli, tmp_path: Path, raw: bytes) -> None:
    fake.fail(200, path=r"/issues/1$", raw=raw)
    md, _ = write_rca(tmp_path)
    result = run_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", str(md))
    assert_one_safe_line(result, fake, "get issue #1")
    assert "proxy login" not in result.err


def test_quoted_marker_in_someone_elses_comment_is_ignored(fake: FakeGitea, call_cli, tmp_path: Path) -> None:
    fake.add_issue(OWNER, REPO, "incident")
    fake.add_comment(OWNER, REPO, 1, "> quoting the bot:\n> <!-- forensics:signature=s1 -->\nsame again?")
    md, _ = write_rca(tmp_path)
    assert call_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", "--signature", "s1", str(md)).code == 0
    bodies = [c["body"] for c in fake.comments_of(OWNER, REPO, 1)]
    assert len(bodies) == 2 and bodies[0].startswith("> quoting") and bodies[1].startswith("<!-- forensics:signature=s1")


def test_429_then_200_succeeds_from_the_cli(fake: FakeGitea, run_cli, tmp_path: Path) -> None:
    fake.add_issue(OWNER, REPO, "incident")
    fake.fail(429, retry_after="0", method="POST")
    md, _ = write_rca(tmp_path)
    result = run_cli("comment", "--repo", f"{OWNER}/{REPO}", "--issue", "1", str(md))
    assert result.code == 0 and result.err == ""
    assert len(fake.calls("issueCreateComment")) == 2 and len(fake.comments_of(OWNER, REPO, 1)) == 1


def test_wrong_token_is_401_without_echo(fake: FakeGitea, run_cli, gitea_env: dict, tmp_path: Path) -> None:
    md, _ = write_rca(tmp_path)
    env = {**gitea_env, "GITEA_TOKEN": "tok-WRONG-0d9f8e7c6b"}
    result = run_cli("comment", *GATE, str(md), env=env)
    assert_one_safe_line(result, fake, "HTTP 401")
    assert "tok-WRONG-0d9f8e7c6b" not in result.err


def test_fetch_errors(fake: FakeGitea, run_cli, tmp_path: Path) -> None:
    fake.add_job(OWNER, REPO, 9, "boot", None)   # not started / expired
    assert_one_safe_line(run_cli("fetch", "--repo", f"{OWNER}/{REPO}", "--job", "9"), fake, "HTTP 404", "job 9")
    assert_one_safe_line(run_cli("fetch", "--repo", f"{OWNER}/{REPO}", "--run", "4"), fake, "HTTP 404", "run 4")
    assert not (tmp_path / "job-9.log").exists()


@pytest.mark.parametrize(
    "args,env_change,expect",
    [
        (("comment", "--repo", "acme", "--issue", "1", "rca.md"), {}, "OWNER/REPO"),
        (("comment", "--repo", "acme/platform", "rca.md"), {}, "--issue N"),
        (("comment", "--repo", "acme/platform", "--issue", "1", "missing.md"), {}, "cannot read RCA"),
        (("comment", "--repo", "acme/platform", "--issue", "1", "rca.md"), {"GITEA_TOKEN": ""}, "GITEA_TOKEN is not set"),
        (("resolve", "--repo", "acme/platform", "--issue", "1"), {"GITEA_URL": ""}, "no Gitea URL"),
        (("fetch", "--repo", "acme/platform", "--job", "1", "--gitea-url", "ftp://x"), {}, "http://"),
        (("fetch", "--repo", "acme/platform", "--job", "1", "--gitea-url", "http://127.0.0.1:9"), {}, "cannot reach Gitea"),
    ],
)
def test_bad_input_is_one_line(fake: FakeGitea, run_cli, gitea_env: dict, tmp_path: Path,
                               args: tuple, env_change: dict, expect: str) -> None:
    (tmp_path / "rca.md").write_text(RCA, encoding="utf-8")
    env = {**gitea_env, **env_change}
    assert_one_safe_line(run_cli(*args, env=env), fake, expect)
