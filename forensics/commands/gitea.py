"""`forensics fetch | comment | resolve`: the Gitea edge of the pipeline.

Invariants:
- Configuration comes from flags, then env: GITEA_URL (or --gitea-url), GITEA_TOKEN (env only,
  never a flag, so it stays out of process listings and shell history).
- Every failure is one line via UserError (exit 2 for bad input, 3 for a Gitea failure);
  no token and no Gitea response body ever reaches stdout/stderr.
- What gets posted passes through forensics.redact (defence in depth: the RCA is already redacted).
- `comment` is idempotent per (issue, failure signature): same signature -> the existing
  comment is edited (a sighting appended); a new signature -> a new comment.
- `resolve` posts one "green" comment per run id and closes the issue.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from forensics import incident
from forensics.cli import UserError
from forensics.gitea import (
    DEFAULT_ATTEMPTS,
    DEFAULT_TIMEOUT,
    GiteaClient,
    GiteaError,
    Issue,
    parse_repo,
    utc_now,
)
from forensics.redact import redact

GITEA_FAILURE_EXIT = 3
LABEL_COLOR = "#d73a4a"
ISSUE_INTRO = (
    "Opened by `forensics comment` for the scheduled staging gate. Each distinct failure signature gets one "
    "comment with its RCA; reruns that fail the same way update that comment. A green run closes this issue."
)


@dataclass(frozen=True, slots=True)
class Target:
    """Which issue to act on: an explicit number, or the open issue with this label and title."""

    owner: str
    repo: str
    issue: int | None
    label: str | None
    title: str | None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, metavar="OWNER/REPO", help="repository on Gitea")
    parser.add_argument("--gitea-url", metavar="URL", help="Gitea base URL (default: env GITEA_URL)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help="per-request timeout")
    parser.add_argument(
        "--retries", type=int, default=DEFAULT_ATTEMPTS - 1, metavar="N", help="retries on 429/5xx (default 3)"
    )


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--issue", type=int, metavar="N", help="issue number to use")
    parser.add_argument("--label", metavar="L", help="label of the incident issue (created when missing)")
    parser.add_argument("--title", metavar="T", help="title of the incident issue (matched exactly among open issues)")
    parser.add_argument("--run-id", default=os.environ.get("GITHUB_RUN_ID", ""), help="run id (default: env GITHUB_RUN_ID)")
    parser.add_argument("--run-url", default=None, help="link to the run (default: built from GITHUB_* env)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fetch = subparsers.add_parser(
        "fetch",
        help="download an Actions job log (--job) or run-logs zip (--run) from Gitea",
        description="Download Gitea Actions logs to a file that `forensics analyze` reads.",
    )
    _common(fetch)
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", type=int, metavar="ID", help="job id (from the jobs API): plain-text log")
    which.add_argument("--run", type=int, metavar="ID", help="run id: zip with one .log per job")
    fetch.add_argument("--out", metavar="FILE", help="output file (default: job-ID.log or run-ID-logs.zip)")
    fetch.set_defaults(func=run_fetch)

    comment = subparsers.add_parser(
        "comment",
        help="post an RCA on the incident issue (find or open it; same signature edits, never spams)",
        description="Post RCA.md on a Gitea issue, idempotently per failure signature.",
    )
    _common(comment)
    _target_options(comment)
    comment.add_argument("rca", metavar="RCA.md", help="the RCA markdown (`-` for stdin)")
    comment.add_argument("--rca-json", metavar="FILE", help="rca.json whose `signature` keys the comment")
    comment.add_argument("--signature", help="failure signature (overrides rca.json and the headline hash)")
    comment.set_defaults(func=run_comment)

    resolve = subparsers.add_parser(
        "resolve",
        help="comment the green run on the incident issue and close it",
        description="Close the incident issue after a green run (no-op when none is open).",
    )
    _common(resolve)
    _target_options(resolve)
    resolve.set_defaults(func=run_resolve)


# ---- helpers ---------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> GiteaClient:
    url = args.gitea_url or os.environ.get("GITEA_URL", "")
    if not url:
        raise UserError("no Gitea URL: pass --gitea-url or set GITEA_URL")
    token = os.environ.get("GITEA_TOKEN", "")
    if not token.strip():
        raise UserError("GITEA_TOKEN is not set (create a token with write:issue and read:repository scopes)")
    if any(c.isspace() for c in token.strip()):
        raise UserError("GITEA_TOKEN contains whitespace; it must be the bare token")
    if args.timeout <= 0 or args.retries < 0:
        raise UserError("--timeout must be > 0 and --retries >= 0")
    try:
        return GiteaClient(url, token.strip(), timeout=args.timeout, attempts=args.retries + 1)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _repo(args: argparse.Namespace) -> tuple[str, str]:
    try:
        return parse_repo(args.repo)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _target(args: argparse.Namespace) -> Target:
    owner, repo = _repo(args)
    if args.issue is not None:
        if args.label or args.title:
            raise UserError("use either --issue N or --label L --title T, not both")
        if args.issue <= 0:
            raise UserError("--issue must be a positive number")
        return Target(owner, repo, args.issue, None, None)
    if not (args.label and args.label.strip() and args.title and args.title.strip()):
        raise UserError("name the issue: --issue N, or --label L together with --title T")
    if "," in args.label:
        raise UserError("--label must be a single label name (no commas)")
    return Target(owner, repo, None, args.label.strip(), args.title.strip())


def _run_url(args: argparse.Namespace) -> str | None:
    if args.run_url:
        return args.run_url
    server, repository, run = (os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repository and run and run == args.run_id:
        return f"{server.rstrip('/')}/{repository}/actions/runs/{run}"
    return None


def _gitea_failure(exc: GiteaError, token: str) -> UserError:
    return UserError(redact(str(exc), extra=(token,)).splitlines()[0], exit_code=GITEA_FAILURE_EXIT)


def _read_text(path: str, what: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None


def _find_open_issue(client: GiteaClient, target: Target) -> Issue | None:
    """The oldest open issue (not PR) carrying the label whose title matches exactly."""
    assert target.label and target.title
    matches = [
        i for i in client.list_open_issues(target.owner, target.repo, target.label)
        if i.title.strip() == target.title and target.label in i.labels
    ]
    return min(matches, key=lambda i: i.number) if matches else None


def _ensure_label(client: GiteaClient, target: Target) -> int:
    assert target.label
    for label in client.list_labels(target.owner, target.repo):
        if label.name == target.label:
            return label.id
    created = client.create_label(
        target.owner, target.repo, target.label, LABEL_COLOR, "Staging gate incident (managed by forensics)"
    )
    return created.id


# ---- commands --------------------------------------------------------------------------------


def run_fetch(args: argparse.Namespace) -> int:
    owner, repo = _repo(args)
    out = args.out or (f"job-{args.job}.log" if args.job is not None else f"run-{args.run}-logs.zip")
    if Path(out).is_dir():
        raise UserError(f"--out {out} is a directory; give a file path")
    with _client(args) as client:
        try:
            if args.job is not None:
                size = client.download_job_log(owner, repo, args.job, out)
            else:
                size = client.download_run_logs(owner, repo, args.run, out)
        except GiteaError as exc:
            raise _gitea_failure(exc, os.environ.get("GITEA_TOKEN", "")) from None
        except OSError as exc:
            raise UserError(f"cannot write {out}: {exc.strerror or type(exc).__name__}") from None
    print(f"wrote {out} ({size} bytes)")
    return 0


def run_comment(args: argparse.Namespace) -> int:
    target = _target(args)
    markdown = redact(_read_text(args.rca, "RCA"), extra=(os.environ.get("GITEA_TOKEN", ""),))
    if not markdown.strip():
        raise UserError(f"{args.rca} is empty: nothing to post")
    rca_json = _read_text(args.rca_json, "rca.json") if args.rca_json else None
    try:
        signature = incident.choose_signature(markdown, explicit=args.signature, rca_json=rca_json)
    except ValueError:
        raise UserError(f"{args.rca_json} is not valid JSON") from None
    when, run_url = utc_now(), _run_url(args)
    token = os.environ.get("GITEA_TOKEN", "")
    with _client(args) as client:
        try:
            issue, opened = _issue_for_comment(client, target)
            existing = [
                c for c in client.list_comments(target.owner, target.repo, issue.number)
                if incident.signature_of(c.body) == signature
            ]
            if existing:
                mine = existing[-1]
                body = incident.add_sighting(mine.body, incident.Sighting(when, args.run_id, run_url))
                posted = client.edit_comment(target.owner, target.repo, mine.id, body)
                verb = "updated"
            else:
                footer = incident.footer_line(when, args.run_id, run_url, signature)
                body = incident.first_body(markdown, signature, footer)
                posted = client.create_comment(target.owner, target.repo, issue.number, body)
                verb = "posted"
        except GiteaError as exc:
            raise _gitea_failure(exc, token) from None
    where = posted.html_url or f"issue #{issue.number} comment {posted.id}"
    state = " (opened the issue)" if opened else ""
    print(f"{verb} RCA comment {where} on #{issue.number}{state}; signature {signature}")
    return 0


def _issue_for_comment(client: GiteaClient, target: Target) -> tuple[Issue, bool]:
    """Find (or open, or reopen) the issue the RCA goes on. Returns (issue, opened_now)."""
    if target.issue is not None:
        issue = client.get_issue(target.owner, target.repo, target.issue)
        if issue.state == "closed":
            issue = client.set_issue_state(target.owner, target.repo, issue.number, "open")
        return issue, False
    found = _find_open_issue(client, target)
    if found:
        return found, False
    label_id = _ensure_label(client, target)
    assert target.title
    return client.create_issue(target.owner, target.repo, target.title, ISSUE_INTRO, [label_id]), True


def run_resolve(args: argparse.Namespace) -> int:
    target = _target(args)
    when, run_url = utc_now(), _run_url(args)
    token = os.environ.get("GITEA_TOKEN", "")
    with _client(args) as client:
        try:
            if target.issue is not None:
                issue: Issue | None = client.get_issue(target.owner, target.repo, target.issue)
            else:
                issue = _find_open_issue(client, target)
            if issue is None or issue.state == "closed":
                which = f"#{issue.number} is already closed" if issue else "no open incident issue"
                print(f"nothing to resolve: {which}")
                return 0
            run_key = args.run_id or "unknown"
            already = any(
                (m := incident.RESOLVED_RE.search(c.body)) and m.group("run") == run_key
                for c in client.list_comments(target.owner, target.repo, issue.number)
            )
            if not already:
                client.create_comment(
                    target.owner, target.repo, issue.number, incident.resolved_body(args.run_id, run_url, when)
                )
            client.set_issue_state(target.owner, target.repo, issue.number, "closed")
        except GiteaError as exc:
            raise _gitea_failure(exc, token) from None
    print(f"resolved #{issue.number}: green run {args.run_id or run_url or 'unknown'}, issue closed")
    return 0
