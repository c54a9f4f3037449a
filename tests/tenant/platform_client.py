"""A small real HTTP client for the local tenant tests (httpx, explicit timeouts)."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import httpx

from fixtures.pytest_plugin import LocalTenant

PONG = ("This is the platform smoke test verifying agent wiring. No tools or memory are needed — "
        "please respond with exactly the single token: PONG")
KNOWN_ANSWER = "Reply with exactly the word PINEAPPLE and nothing else."
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def message(text: str, rpc_id: str = "e2e-msg-1") -> dict:
    return {"jsonrpc": "2.0", "method": "message/send", "id": rpc_id,
            "params": {"message": {"role": "user", "messageId": f"e2e-{uuid.uuid4().hex[:8]}",
                                   "parts": [{"kind": "text", "text": text}]}}}


def reply_text(body: dict) -> str:
    return body["result"]["parts"][0]["text"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last={last!r})")


@dataclass
class Org:
    id: str
    slug: str
    token: str
    tenant: httpx.Client          # bearer = per-tenant admin token, X-Molecule-Org-Id set

    def create_workspace(self, name: str = "E2E Parent", runtime: str = "claude-code", **extra) -> str:
        r = self.tenant.post("/workspaces", json={"name": name, "tier": 2, "runtime": runtime,
                                                  "model": "moonshot/kimi-k2.6", "secrets": {}, **extra})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def workspace(self, wid: str) -> dict:
        r = self.tenant.get(f"/workspaces/{wid}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_routable(self, wid: str, *, not_url: str | None = None, timeout: float = 15.0) -> dict:
        def ready():
            w = self.workspace(wid)
            return w if w["status"] == "online" and w["url"] and w["url"] != not_url else None
        return wait_for(ready, timeout, what=f"workspace {wid} online and routable")

    def a2a(self, wid: str, text: str, **headers) -> httpx.Response:
        return self.tenant.post(f"/workspaces/{wid}/a2a", json=message(text), headers={"X-Workspace-ID": wid, **headers})


def cp_client(tenant: LocalTenant, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token if token is not None else tenant.admin_token}"}
    return httpx.Client(base_url=tenant.cp_url, headers=headers, timeout=TIMEOUT, trust_env=False)


def new_org(tenant: LocalTenant, slug: str | None = None) -> Org:
    slug = slug or f"e2e-{uuid.uuid4().hex[:8]}"
    cp = cp_client(tenant)
    r = cp.post("/cp/admin/orgs", json={"slug": slug, "name": f"E2E {slug}", "owner_user_id": f"e2e-runner:{slug}"})
    assert r.status_code == 201, r.text
    org_id = r.json()["id"]
    wait_for(lambda: any(o["slug"] == slug and o["instance_status"] == "running"
                         for o in cp.get("/cp/admin/orgs").json()["orgs"]), what="org running")
    token = cp.get(f"/cp/admin/orgs/{slug}/admin-token").json()["admin_token"]
    client = httpx.Client(base_url=tenant.tenant_url, timeout=TIMEOUT, trust_env=False,
                          headers={"Authorization": f"Bearer {token}", "X-Molecule-Org-Id": org_id})
    return Org(org_id, slug, token, client)


def agent_pids(server_log_text: str) -> list[int]:
    return [int(p) for p in re.findall(r"Provisioner: started container \S+ for workspace \S+ \(pid=(\d+)\)",
                                       server_log_text)]


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
