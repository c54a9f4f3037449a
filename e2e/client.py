"""A thin client for the platform's endpoints (platform-api.md §3–§11).

Invariants:
- Every HTTP call has an explicit timeout and is one Allure step with redacted request/response
  attachments and one `http` event in events.jsonl.
- Calls never raise on HTTP status or transport failure: they return a `Reply` whose `status` is
  0 for transport errors, with a curl-like `rc` (28 timeout, 7 connect, 56 other) so log lines
  keep the harness grammar.
- The client only reads and creates; the only destructive calls are the teardown deletes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import ssl
import time
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import allure
import httpx

from e2e.runlog import RunLog

BODY_PREVIEW = 4000


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    rc: int = 0               # curl-like exit code: 0 ok, 22 HTTP >= 400, 28 timeout, 7 connect
    error: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def field(self, name: str) -> Any:
        data = self.json()
        return data.get(name) if isinstance(data, dict) else None

    def describe(self) -> str:
        """`http=<code>: <body>` style summary used in ❌ lines."""
        if self.status == 0:
            return f"transport error ({self.error})"
        return f"{self.status}: {self.text[:300]}"


@contextlib.contextmanager
def evidence_step(title: str) -> Iterator[None]:
    """An Allure step inside a test; nothing outside one (session start/finish calls)."""
    try:
        step = allure.step(title)
        step.__enter__()
    except Exception:  # noqa: BLE001 - evidence is best effort, never a failure of the run
        step = None
    try:
        yield
    finally:
        if step is not None:
            with contextlib.suppress(Exception):
                step.__exit__(None, None, None)


def attach(text: str, name: str) -> None:
    with contextlib.suppress(Exception):  # no current test (session-level calls): no attachment
        allure.attach(text, name=name, attachment_type=allure.attachment_type.JSON)


SECRET_KEY = re.compile(r"(token|secret|password|api[_-]?key)$", re.IGNORECASE)


def remember_secrets(data: Any, redactor: Any) -> None:
    """Register every value under a secret-looking key of a JSON reply (before anything logs it)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and SECRET_KEY.search(str(key)):
                redactor.add(value)
            else:
                remember_secrets(value, redactor)
    elif isinstance(data, list):
        for item in data:
            remember_secrets(item, redactor)


def _curl_rc(status: int) -> int:
    return 22 if status >= 400 else 0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi / SSL_CERT_FILE), built once per process: building one per
    client costs ~25 ms of CPU, and every Boot opens several clients."""
    return httpx.create_ssl_context()


class Http:
    """httpx with Allure steps and redacted evidence."""

    def __init__(self, base_url: str, headers: dict[str, str], log: RunLog, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.log = log
        self.timeout = timeout
        self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                    follow_redirects=False, verify=tls_context())

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json_body: Any = None, content: bytes | None = None,
                files: Any = None, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> Reply:
        redact = self.log.redactor.redact
        title = f"{method} {path}"
        started = time.monotonic()
        with evidence_step(redact(title)):
            request_doc = {"method": method, "url": self.base_url + path, "params": params,
                           "headers": {**dict(self._client.headers), **(headers or {})},
                           "json": json_body, "content_bytes": len(content) if content else None,
                           "files": [f[1][0] for f in files] if files else None}
            attach(redact(json.dumps(request_doc, indent=2, default=str)), "request")
            try:
                response = self._client.request(
                    method, path, json=json_body, content=content, files=files, params=params,
                    headers=headers, timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
                reply = Reply(status=response.status_code, body=response.content,
                              headers=dict(response.headers), rc=_curl_rc(response.status_code),
                              elapsed=time.monotonic() - started)
            except httpx.TimeoutException as exc:
                reply = Reply(status=0, rc=28, error=f"timeout: {type(exc).__name__}",
                              elapsed=time.monotonic() - started)
            except httpx.ConnectError as exc:
                reply = Reply(status=0, rc=7, error=f"connect: {exc}", elapsed=time.monotonic() - started)
            except httpx.HTTPError as exc:
                reply = Reply(status=0, rc=56, error=f"{type(exc).__name__}: {exc}",
                              elapsed=time.monotonic() - started)
            content_type = reply.headers.get("content-type", "")
            parsed = reply.json() if "json" in content_type else None
            remember_secrets(parsed, self.log.redactor)
            preview: Any = (parsed if parsed is not None else
                            reply.text[:BODY_PREVIEW] if "text" in content_type or not reply.body
                            else f"<{len(reply.body)} bytes {content_type}>")
            attach(redact(json.dumps({"status": reply.status, "rc": reply.rc, "error": reply.error,
                                      "elapsed_s": round(reply.elapsed, 3), "headers": reply.headers,
                                      "body": preview}, indent=2)), f"response {reply.status}")
        self.log.event("http", title, method=method, path=path, status=reply.status, rc=reply.rc,
                       ms=round(reply.elapsed * 1000, 1))
        return reply


class ControlPlane:
    """CP admin API (platform-api.md §11). Always on the CP host."""

    def __init__(self, cp_url: str, admin_token: str, log: RunLog, timeout: float) -> None:
        self.url = cp_url.rstrip("/")
        self.http = Http(self.url, {"Authorization": f"Bearer {admin_token}",
                                    "Content-Type": "application/json"}, log, timeout)

    def close(self) -> None:
        self.http.close()

    def health(self) -> Reply:
        return self.http.request("GET", "/health")

    def buildinfo(self) -> Reply:
        return self.http.request("GET", "/buildinfo")

    def create_org(self, slug: str) -> Reply:
        return self.http.request("POST", "/cp/admin/orgs", json_body={
            "slug": slug, "name": f"E2E {slug}", "owner_user_id": f"e2e-runner:{slug}"})

    def list_orgs(self) -> Reply:
        return self.http.request("GET", "/cp/admin/orgs", params={"limit": "500"})

    def tenant_admin_token(self, slug: str) -> Reply:
        return self.http.request("GET", f"/cp/admin/orgs/{quote(slug)}/admin-token")

    def delete_tenant(self, slug: str, timeout: float = 120.0) -> Reply:
        return self.http.request("DELETE", f"/cp/admin/tenants/{quote(slug)}",
                                 json_body={"confirm": slug}, timeout=timeout)


class Tenant:
    """Tenant API (platform-api.md §3–§10) with the harness's headers (§12.1)."""

    def __init__(self, tenant_url: str, org_id: str | None, token: str | None, log: RunLog,
                 timeout: float) -> None:
        self.url = tenant_url.rstrip("/")
        self.org_id = org_id
        self.token = token
        self.log = log
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if org_id:
            headers["X-Molecule-Org-Id"] = org_id
        self.headers = headers
        self.http = Http(self.url, headers, log, timeout)

    def close(self) -> None:
        self.http.close()

    @property
    def ws_base(self) -> str:
        return "ws" + self.url[len("http"):] if self.url.startswith("http") else self.url

    def health(self, timeout: float | None = None) -> Reply:
        return self.http.request("GET", "/health", timeout=timeout)

    def buildinfo(self) -> Reply:
        return self.http.request("GET", "/buildinfo")

    def create_workspace(self, body: dict[str, Any]) -> Reply:
        return self.http.request("POST", "/workspaces", json_body=body)

    def get_workspace(self, wid: str) -> Reply:
        return self.http.request("GET", f"/workspaces/{wid}")

    def list_workspaces(self) -> Reply:
        return self.http.request("GET", "/workspaces")

    def delete_workspace(self, wid: str) -> Reply:
        return self.http.request("DELETE", f"/workspaces/{wid}", params={"confirm": "true"})

    def a2a(self, wid: str, body: dict[str, Any], timeout: float) -> Reply:
        return self.http.request("POST", f"/workspaces/{wid}/a2a", json_body=body, timeout=timeout,
                                 headers={"X-Workspace-ID": wid, "X-Timeout": str(max(int(timeout), 1))})

    def queue_status(self, wid: str, queue_id: str) -> Reply:
        return self.http.request("GET", f"/workspaces/{wid}/a2a/queue/{queue_id}",
                                 headers={"X-Workspace-ID": wid})

    def upload(self, wid: str, name: str, data: bytes, mime: str) -> Reply:
        return self.http.request("POST", f"/workspaces/{wid}/chat/uploads",
                                 files=[("files", (name, data, mime))])

    def download(self, wid: str, path: str) -> Reply:
        return self.http.request("GET", f"/workspaces/{wid}/chat/download", params={"path": path})

    def put_file(self, wid: str, rel_path: str, content: str) -> Reply:
        return self.http.request("PUT", f"/workspaces/{wid}/files/{rel_path}", json_body={"content": content})
