"""A fake Gitea on 127.0.0.1 that implements the issue/label/comment/log part of the Swagger subset.

Invariants:
- Every request is checked against tests/gitea/gitea-api-subset.json: the path must match a
  declared template and method, path parameters their type, query parameters must be declared
  (type, enum, date-time format) and appear once, a JSON body must validate against the resolved
  definition and carry no undeclared top-level field, and no body may be sent where none is
  declared. A breach is recorded in `violations` and answered 400, so the client fails loudly.
- Every JSON answer is validated against the declared response schema of its status code
  (the fake checks itself); statuses Gitea sends but the spec does not declare (401, 429, 5xx)
  are allowed only for injected faults and auth failures.
- Facts copied from ../shared/gitea/README.md: PATCH issue answers 201; create issue/comment/label
  201; lists of issues/labels/comments are bare arrays; `X-Total-Count` always and `Link` only
  with more than one page (order next,last,first,prev; joined by ','); error bodies are
  {"message","url"}; job logs are text/plain with Content-Disposition; run logs are a zip.
"""

from __future__ import annotations

import copy
import io
import json
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema

SPEC_PATH = Path(__file__).with_name("gitea-api-subset.json")
CANARY = "RAW-BODY-CANARY-5f1d"          # planted in every injected error body; must never be printed
DEFAULT_LIMIT, MAX_LIMIT = 30, 50
UNDECLARED_OK = {401, 429, 500, 502, 503, 504}


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    """An injected misbehaviour for the next `times` matching requests."""

    status: int | None            # None: no status override (use with delay for "slow")
    times: int = 1
    method: str | None = None
    path_re: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    html: bool = False
    raw: bytes | None = None      # answer this JSON text verbatim (malformed-answer tests)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_re is None or re.search(self.path_re, path) is not None
        )


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None
    at: float
    operation: str | None = None


@dataclass
class RepoState:
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)   # id -> comment (+ "_issue")
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)
    job_logs: dict[int, bytes | None] = field(default_factory=dict)     # None: job not started / expired
    job_names: dict[int, str] = field(default_factory=dict)
    run_logs: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.spec["operationId"])


def load_operations(spec: dict[str, Any]) -> list[Operation]:
    ops = []
    for template, item in spec["paths"].items():
        pattern = "^" + re.escape(spec["basePath"] + template) + "$"
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        for method, op in item.items():
            if method != "parameters":
                ops.append(Operation(method.upper(), template, re.compile(pattern), op))
    # Literal segments beat parameters (/issues/comments/{id} vs /issues/{index}/...).
    ops.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
    return ops


class FakeGitea:
    """Start with `with FakeGitea() as fake:`; `fake.url` is the instance root (no /api/v1)."""

    def __init__(self, token: str = "tok-FAKE-9c1e7d2a44", spec_path: Path = SPEC_PATH) -> None:
        self.token = token
        self.spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
        self.operations = load_operations(self.spec)
        self.repos: dict[tuple[str, str], RepoState] = {}
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeGitea:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gitea", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- test controls ----------------------------------------------------------------------

    def repo(self, owner: str = "acme", name: str = "platform") -> RepoState:
        with self._lock:
            return self.repos.setdefault((owner, name), RepoState())

    def fail(self, status: int | None, *, times: int = 1, method: str | None = None, path: str | None = None,
             retry_after: str | None = None, delay: float = 0.0, html: bool = False, raw: bytes | None = None) -> None:
        with self._lock:
            self.faults.append(Fault(status, times, method, path, retry_after, delay, html, raw))

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def add_label(self, owner: str, repo: str, name: str, color: str = "ededed") -> dict[str, Any]:
        state = self.repo(owner, repo)
        label_id = self.new_id()
        label = {"id": label_id, "name": name, "color": color, "description": "", "exclusive": False,
                 "is_archived": False, "url": f"{self.url}/api/v1/repos/{owner}/{repo}/labels/{label_id}"}
        state.labels[label["id"]] = label
        return label

    def add_issue(self, owner: str, repo: str, title: str, *, labels: tuple[str, ...] = (), state: str = "open",
                  pull: bool = False) -> dict[str, Any]:
        repo_state = self.repo(owner, repo)
        by_name = {lbl["name"]: lbl for lbl in repo_state.labels.values()}
        chosen = [by_name.get(n) or self.add_label(owner, repo, n) for n in labels]
        return self._create_issue(owner, repo, title, "", chosen, state=state, pull=pull)

    def add_comment(self, owner: str, repo: str, number: int, body: str) -> dict[str, Any]:
        return self._create_comment(owner, repo, number, body)

    def add_job(self, owner: str, repo: str, job_id: int, name: str, log: bytes | None) -> None:
        state = self.repo(owner, repo)
        state.job_logs[job_id] = log
        state.job_names[job_id] = name

    def add_run(self, owner: str, repo: str, run_id: int, logs: dict[str, bytes]) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in logs.items():
                archive.writestr(name, data)
        self.repo(owner, repo).run_logs[run_id] = buf.getvalue()

    def comments_of(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        state = self.repo(owner, repo)
        return [c for c in state.comments.values() if c["_issue"] == number]

    def calls(self, operation: str) -> list[Seen]:
        return [r for r in self.requests if r.operation == operation]

    # ---- model helpers ----------------------------------------------------------------------

    def _user(self) -> dict[str, Any]:
        return {"id": 7, "login": "gate-bot", "full_name": "Gate Bot", "email": "gate-bot@example.invalid",
                "avatar_url": f"{self.url}/avatars/7", "html_url": f"{self.url}/gate-bot"}

    def _create_issue(self, owner: str, repo: str, title: str, body: str, labels: list[dict[str, Any]], *,
                      state: str = "open", pull: bool = False) -> dict[str, Any]:
        repo_state = self.repo(owner, repo)
        with self._lock:
            number = max(repo_state.issues, default=0) + 1
            now = _now()
            issue = {
                "id": self.new_id(), "number": number, "title": title, "body": body, "state": state,
                "labels": [copy.deepcopy(lbl) for lbl in labels], "user": self._user(),
                "url": f"{self.url}/api/v1/repos/{owner}/{repo}/issues/{number}",
                "html_url": f"{self.url}/{owner}/{repo}/{'pulls' if pull else 'issues'}/{number}",
                "comments": 0, "created_at": now, "updated_at": now,
                "closed_at": now if state == "closed" else None, "milestone": None, "assignee": None,
                "assignees": None, "is_locked": False, "ref": "",
                "pull_request": {"merged": False, "draft": False, "html_url": f"{self.url}/{owner}/{repo}/pulls/{number}"}
                if pull else None,
                "repository": {"id": 1, "name": repo, "owner": owner, "full_name": f"{owner}/{repo}"},
            }
            repo_state.issues[number] = issue
            return issue

    def _create_comment(self, owner: str, repo: str, number: int, body: str) -> dict[str, Any]:
        repo_state = self.repo(owner, repo)
        with self._lock:
            cid = self.new_id()
            now = _now()
            comment = {
                "id": cid, "body": body, "user": self._user(), "created_at": now, "updated_at": now,
                "html_url": f"{self.url}/{owner}/{repo}/issues/{number}#issuecomment-{cid}",
                "issue_url": f"{self.url}/{owner}/{repo}/issues/{number}", "pull_request_url": "",
                "original_author": "", "original_author_id": 0, "assets": [], "_issue": number,
            }
            repo_state.comments[cid] = comment
            repo_state.issues[number]["comments"] += 1
            return comment


# ---- request validation (pure) ---------------------------------------------------------------


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        target: Any = spec
        for part in parts:
            target = target[part]
        node = target
    return node


def _schema_errors(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    root = {"allOf": [schema], "definitions": spec["definitions"]}
    validator = jsonschema.Draft4Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(value)]


def _strip_nulls(value: Any) -> Any:
    """Gitea's Go structs emit null for unset pointers; Swagger 2.0 cannot say 'nullable'."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None and not k.startswith("_")}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _check_type(name: str, declared: dict[str, Any], raw: str) -> str | None:
    kind = declared.get("type")
    if kind == "integer" and not re.fullmatch(r"-?\d+", raw):
        return f"parameter {name}={raw!r} is not an integer"
    if kind == "boolean" and raw not in {"true", "false"}:
        return f"parameter {name}={raw!r} is not a boolean"
    if "enum" in declared and raw not in declared["enum"]:
        return f"parameter {name}={raw!r} not in {declared['enum']}"
    if declared.get("format") == "date-time":
        try:
            datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return f"parameter {name}={raw!r} is not RFC 3339"
    return None


def check_request(spec: dict[str, Any], op: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                  content_type: str, raw_body: bytes) -> tuple[list[str], Any]:
    """Violations of the Swagger subset by one request, and the parsed JSON body (or None)."""
    problems: list[str] = []
    params = {(p["in"], p["name"]): p for p in op.spec.get("parameters", [])}
    for name, value in path_params.items():
        declared = params.get(("path", name))
        if declared is None:
            problems.append(f"undeclared path parameter {name}")
        elif (msg := _check_type(name, declared, value)) is not None:
            problems.append(msg)
    for name, values in query.items():
        declared = params.get(("query", name))
        if declared is None:
            problems.append(f"undeclared query parameter {name!r} for {op.operation_id}")
            continue
        if len(values) != 1:
            problems.append(f"query parameter {name} repeated")
        for value in values:
            if (msg := _check_type(name, declared, value)) is not None:
                problems.append(msg)
    problems += [
        f"required {where} parameter {name!r} missing"
        for (where, name), p in params.items()
        if p.get("required") and where == "query" and name not in query
    ]
    body_param = params.get(("body", "body"))
    body: Any = None
    if body_param is None:
        if raw_body:
            problems.append(f"{op.operation_id} takes no request body")
        return problems, None
    if not raw_body:
        return problems, None
    if content_type.split(";")[0].strip().lower() != "application/json":
        problems.append(f"body content type {content_type!r} is not application/json")
    try:
        body = json.loads(raw_body)
    except ValueError:
        return problems + ["body is not JSON"], None
    schema = body_param["schema"]
    problems += [f"body {m}" for m in _schema_errors(spec, schema, body)]
    declared_props = _resolve(spec, schema).get("properties", {})
    if isinstance(body, dict):
        problems += [f"body field {k!r} not in {op.operation_id}'s schema" for k in body if k not in declared_props]
    return problems, body


def check_response(spec: dict[str, Any], op: Operation, status: int, payload: Any) -> list[str]:
    responses = op.spec["responses"]
    declared = responses.get(str(status))
    if declared is None:
        return [] if status in UNDECLARED_OK else [f"{op.operation_id} does not declare status {status}"]
    declared = _resolve(spec, declared)
    schema = declared.get("schema")
    if schema is None or payload is None:
        return []
    problems = _schema_errors(spec, schema, _strip_nulls(payload))
    items = payload if isinstance(payload, list) else [payload]
    item_schema = _resolve(spec, schema.get("items", {})) if "items" in schema else _resolve(spec, schema)
    props = item_schema.get("properties")
    if props:
        for item in items:
            if isinstance(item, dict):
                problems += [f"answer field {k!r} undeclared" for k in item if k not in props and not k.startswith("_")]
    return [f"fake answer: {p}" for p in problems]


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (timeout tests) makes the late write fail: not an error of the fake."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


# ---- HTTP handler ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGitea
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitea/1.24"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # ---- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, payload: Any = None, *, content_type: str = "application/json;charset=utf-8",
              raw: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"message": message, "url": f"{self.owner.url}/api/swagger"}, headers=headers)

    def _dispatch(self) -> None:
        fake = self.owner
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, split.path, query, None, self.headers.get("Authorization"), time.monotonic())
        with fake._lock:
            fake.requests.append(seen)
        op, path_params = self._route(split.path)
        if op is None:
            fake.violations.append(f"{self.command} {split.path}: no such operation in the subset")
            self._error(404 if path_params is None else 405, "fake: not in the Swagger subset")
            return
        seen.operation = op.operation_id
        problems, body = check_request(fake.spec, op, path_params, query,
                                       self.headers.get("Content-Type", ""), raw_body)
        seen.body = body
        if problems:
            fake.violations.extend(f"{op.operation_id}: {p}" for p in problems)
            self._error(400, "fake: request breaks the Swagger subset")
            return
        if not self._authorized():
            self._error(401, "invalid username, password or token")
            return
        if self._apply_fault(op, split.path):
            return
        handler = getattr(self, f"op_{op.operation_id}", None)
        if handler is None:
            fake.violations.append(f"{op.operation_id}: declared in the subset but not implemented by the fake")
            self._error(501, "fake: not implemented")
            return
        owner, repo = path_params["owner"], path_params["repo"]
        with fake._lock:
            status, payload, extra = handler(fake.repo(owner, repo), owner, repo, path_params, query, body)
        if status == 404 and payload is None:  # this Gitea snapshot's not-found body
            payload = {"message": "not found", "url": f"{fake.url}/api/swagger"}
        if isinstance(payload, (bytes, bytearray)):
            self._send(status, raw=bytes(payload), content_type=extra.pop("Content-Type"), headers=extra)
            return
        fake.violations.extend(f"{op.operation_id}: {p}" for p in check_response(fake.spec, op, status, payload))
        self._send(status, _public(payload), headers=extra)

    def _route(self, path: str) -> tuple[Operation | None, dict[str, str] | None]:
        path_known = False
        for op in self.owner.operations:
            match = op.regex.match(path)
            if match:
                path_known = True
                if op.method == self.command:
                    return op, match.groupdict()
        return None, ({} if path_known else None)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        parts = header.split()
        return len(parts) == 2 and parts[0].lower() in {"token", "bearer"} and parts[1] == self.owner.token

    def _apply_fault(self, op: Operation, path: str) -> bool:
        fake = self.owner
        with fake._lock:
            fault = next((f for f in fake.faults if f.times > 0 and f.matches(op.method, path)), None)
            if fault:
                fault.times -= 1
        if fault is None:
            return False
        if fault.delay:
            fake._stop.wait(fault.delay)
        if fault.status is None:
            return False
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.raw is not None:
            self._send(fault.status, raw=fault.raw, headers=headers)
        elif fault.html:
            page = f"<html><body><h1>{fault.status}</h1><p>{CANARY} token={fake.token}</p></body></html>".encode()
            self._send(fault.status, raw=page, content_type="text/html; charset=utf-8", headers=headers)
        else:
            self._error(fault.status, f"{CANARY}: internal detail, Authorization: token {fake.token}", headers)
        return True

    # ---- operations -------------------------------------------------------------------------

    def _paginate(self, items: list[Any], query: dict[str, list[str]]) -> tuple[list[Any], dict[str, str]]:
        page = max(1, int(query.get("page", ["1"])[0] or 1))
        limit = int(query.get("limit", [str(DEFAULT_LIMIT)])[0] or DEFAULT_LIMIT)
        limit = DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
        total = len(items)
        pages = max(1, -(-total // limit))
        headers = {"X-Total-Count": str(total)}
        if pages > 1:
            base = {k: v[0] for k, v in query.items()}

            def link(p: int, rel: str) -> str:
                return f'<{self.owner.url}{urlsplit(self.path).path}?{urlencode({**base, "page": p})}>; rel="{rel}"'

            rels = []
            if page < pages:
                rels += [link(page + 1, "next"), link(pages, "last")]
            if page > 1:
                rels += [link(1, "first"), link(page - 1, "prev")]
            if rels:
                headers["Link"] = ",".join(rels)
        return items[(page - 1) * limit: page * limit], headers

    def op_issueListIssues(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                           query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        want_state = query.get("state", ["open"])[0]
        names = {n.strip() for n in query.get("labels", [""])[0].split(",") if n.strip()}
        kind = query.get("type", [""])[0]
        text = query.get("q", [""])[0].lower()
        items = []
        for issue in sorted(state.issues.values(), key=lambda i: -i["number"]):  # newest first, like Gitea
            if want_state != "all" and issue["state"] != want_state:
                continue
            if names and not names & {lbl["name"] for lbl in issue["labels"]}:
                continue
            if kind == "issues" and issue["pull_request"] or kind == "pulls" and not issue["pull_request"]:
                continue
            if text and text not in issue["title"].lower():
                continue
            items.append(issue)
        page, headers = self._paginate(items, query)
        return 200, page, headers

    def op_issueCreateIssue(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                            query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        if not body or not str(body.get("title", "")).strip():
            return 422, {"message": "title is required", "url": f"{self.owner.url}/api/swagger"}, {}
        labels = []
        for label_id in body.get("labels") or []:
            if label_id not in state.labels:
                return 422, {"message": f"label {label_id} does not exist", "url": f"{self.owner.url}/api/swagger"}, {}
            labels.append(state.labels[label_id])
        issue = self.owner._create_issue(owner, repo, body["title"], body.get("body", ""), labels,
                                         state="closed" if body.get("closed") else "open")
        return 201, issue, {}

    def _issue(self, state: RepoState, params: dict[str, str]) -> dict[str, Any] | None:
        return state.issues.get(int(params["index"]))

    def op_issueGetIssue(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                         query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(state, params)
        return (200, issue, {}) if issue else (404, {"message": "not found", "url": f"{self.owner.url}/api/swagger"}, {})

    def op_issueEditIssue(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                          query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(state, params)
        if not issue:
            return 404, None, {}
        body = body or {}
        if "state" in body:
            if body["state"] not in {"open", "closed"}:
                return 412, {"message": "invalid state", "url": f"{self.owner.url}/api/swagger"}, {}
            issue["state"] = body["state"]
            issue["closed_at"] = _now() if body["state"] == "closed" else None
        for key in ("title", "body"):
            if key in body:
                issue[key] = body[key]
        issue["updated_at"] = _now()
        return 201, issue, {}

    def op_issueGetComments(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                            query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(state, params)
        if not issue:
            return 404, None, {}
        comments = sorted((c for c in state.comments.values() if c["_issue"] == issue["number"]), key=lambda c: c["id"])
        return 200, comments, {}

    def op_issueCreateComment(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                              query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(state, params)
        if not issue:
            return 404, None, {}
        if not body or not isinstance(body.get("body"), str):
            return 422, {"message": "body is required", "url": f"{self.owner.url}/api/swagger"}, {}
        return 201, self.owner._create_comment(owner, repo, issue["number"], body["body"]), {}

    def op_issueGetComment(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                           query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        comment = state.comments.get(int(params["id"]))
        return (200, comment, {}) if comment else (404, None, {})

    def op_issueEditComment(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                            query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        comment = state.comments.get(int(params["id"]))
        if not comment:
            return 404, None, {}
        comment["body"] = body["body"]
        comment["updated_at"] = _now()
        return 200, comment, {}

    def op_issueListLabels(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                           query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        page, headers = self._paginate(sorted(state.labels.values(), key=lambda lbl: lbl["name"]), query)
        return 200, page, headers

    def op_issueCreateLabel(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                            query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        color = str(body.get("color", "")).lstrip("#")
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color) or not str(body.get("name", "")).strip():
            return 422, {"message": "invalid label", "url": f"{self.owner.url}/api/swagger"}, {}
        label = self.owner.add_label(owner, repo, body["name"], color)
        label["description"] = body.get("description", "")
        return 201, label, {}

    def op_downloadActionsRunJobLogs(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                                     query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        job_id = int(params["job_id"])
        log = state.job_logs.get(job_id)
        if log is None:
            return 404, {"message": "not found", "url": f"{self.owner.url}/api/swagger"}, {}
        name = state.job_names.get(job_id, "job")
        return 200, log, {"Content-Type": "text/plain; charset=utf-8",
                          "Content-Disposition": f'attachment; filename="platform-boot-{name}-{job_id}.log"'}

    def op_getWorkflowRunLogs(self, state: RepoState, owner: str, repo: str, params: dict[str, str],
                              query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        run_id = int(params["run"])
        data = state.run_logs.get(run_id)
        if data is None:
            return 404, None, {}
        return 200, data, {"Content-Type": "application/zip",
                           "Content-Disposition": f'attachment; filename="{repo}-run-{run_id}-logs.zip"'}


def _public(payload: Any) -> Any:
    """Drop the fake's private bookkeeping fields (leading underscore) from an answer."""
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if not k.startswith("_")}
    if isinstance(payload, list):
        return [_public(v) for v in payload]
    return payload
