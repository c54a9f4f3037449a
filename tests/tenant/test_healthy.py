"""The healthy tenant with real HTTP / WebSocket clients: auth, guard, lifecycle, A2A, files, terminal, events."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import signal
import struct
import zlib

import httpx
import pytest
import websockets

from tests.tenant.platform_client import (KNOWN_ANSWER, PONG, TIMEOUT, agent_pids, cp_client, message, new_org,
                                          pid_alive, reply_text, wait_for)

pytestmark = pytest.mark.slow
GO_LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S")
GIN_LOG = re.compile(r'^\[GIN\] \d{4}/\d\d/\d\d - \d\d:\d\d:\d\d \| \d{3} \| +[\d.]+(ns|µs|ms|s|m[\d.]+s) \| +[\d.:a-f]+ \| '
                     r'[A-Z]+ +"/\S*"$')


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_ready_line_contract(healthy_tenant):
    ready = healthy_tenant.ready
    assert {"cp_url", "tenant_url", "admin_token", "server_log", "git_sha", "published_sha", "check_mode", "faults",
            "pid"} <= set(ready)
    assert ready["cp_url"].startswith("http://127.0.0.1:") and ready["tenant_url"].startswith("http://127.0.0.1:")
    assert ready["cp_url"] != ready["tenant_url"]
    assert ready["check_mode"] == "fixed" and ready["faults"] == [] and ready["pid"] == healthy_tenant.pid
    assert ready["git_sha"] == ready["published_sha"] and re.fullmatch(r"[0-9a-f]{40}", ready["git_sha"])
    assert len(ready["admin_token"]) >= 32
    assert any(ready["cp_url"] in line for line in healthy_tenant.human_lines)
    assert httpx.get(ready["cp_url"] + "/health").status_code == 200
    assert httpx.get(ready["tenant_url"] + "/buildinfo").json() == {"git_sha": ready["git_sha"]}


def test_control_plane_admin_api(healthy_tenant):
    cp = cp_client(healthy_tenant)
    assert httpx.post(healthy_tenant.cp_url + "/cp/admin/orgs", json={"slug": "x"}).status_code == 401
    assert cp_client(healthy_tenant, "wrong").get("/cp/admin/orgs").status_code == 401
    slug = "e2e-cp-" + secrets.token_hex(4)
    created = cp.post("/cp/admin/orgs", json={"slug": slug, "name": "E2E", "owner_user_id": "e2e-runner:" + slug})
    assert created.status_code == 201 and created.json()["instance_status"] == "provisioning"
    assert "status" not in created.json()
    assert cp.post("/cp/admin/orgs", json={"slug": slug}).status_code == 409
    assert cp.post("/cp/admin/orgs", json={"slug": "e2e-" + "x" * 40}).status_code == 400
    assert cp.post("/cp/admin/orgs", json={"name": "no slug"}).status_code == 422
    wait_for(lambda: any(o["slug"] == slug and o["instance_status"] == "running"
                         for o in cp.get("/cp/admin/orgs").json()["orgs"]), what="running")
    token = cp.get(f"/cp/admin/orgs/{slug}/admin-token").json()["admin_token"]
    assert token and token != healthy_tenant.admin_token
    assert cp.request("DELETE", f"/cp/admin/tenants/{slug}", json={"confirm": "other"}).status_code == 400
    assert cp.request("DELETE", f"/cp/admin/tenants/{slug}", json={"confirm": slug}).status_code == 200
    assert cp.request("DELETE", f"/cp/admin/tenants/{slug}", json={"confirm": slug}).status_code == 200  # idempotent
    assert all(o["slug"] != slug for o in cp.get("/cp/admin/orgs").json()["orgs"])
    gone = httpx.get(healthy_tenant.tenant_url + "/workspaces", headers={"X-Molecule-Org-Id": created.json()["id"],
                                                                         "Authorization": f"Bearer {token}"})
    assert gone.status_code == 404 and gone.content == b""


def test_tenant_guard(healthy_tenant, org):
    url = healthy_tenant.tenant_url
    assert httpx.get(url + "/health").json() == {"status": "ok"}
    missing = httpx.get(url + "/workspaces", headers={"Authorization": f"Bearer {org.token}"})
    assert missing.status_code == 400 and missing.json()["code"] == "TENANT_ORG_HEADER_REQUIRED"
    wrong = httpx.get(url + "/workspaces", headers={"Authorization": f"Bearer {org.token}",
                                                    "X-Molecule-Org-Id": "00000000-0000-4000-8000-000000000000"})
    assert wrong.status_code == 404 and wrong.content == b""
    assert "x-frame-options" not in wrong.headers and "x-ratelimit-limit" in wrong.headers
    ok = org.tenant.get("/workspaces")
    assert ok.headers["x-content-type-options"] == "nosniff" and ok.headers["x-frame-options"] == "DENY"
    assert httpx.get(url + "/cp/admin/orgs").status_code == 404
    assert httpx.get(url + "/nope", headers={"X-Molecule-Org-Id": org.id}).text == "404 page not found"


def test_bearer_tiers(healthy_tenant, org, online_workspace):
    wid = online_workspace
    bare = httpx.Client(base_url=healthy_tenant.tenant_url, headers={"X-Molecule-Org-Id": org.id}, timeout=TIMEOUT)
    assert bare.get("/workspaces").json() == {"error": "admin auth required"}
    assert bare.get("/workspaces", headers={"Authorization": "Bearer nope"}).json() == {"error": "invalid admin auth token"}
    assert bare.post(f"/workspaces/{wid}/chat/uploads").json() == {"error": "missing workspace auth token"}
    r = bare.get(f"/workspaces/{wid}/files/config.yaml", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json() == {"error": "invalid workspace auth token"}
    assert bare.get(f"/workspaces/{wid}").status_code == 200          # open route
    other = new_org(healthy_tenant)
    assert other.tenant.get(f"/workspaces/{wid}").json() == {"error": "workspace not found"}
    assert org.tenant.get("/workspaces/not-a-uuid").json() == {"error": "invalid workspace ID"}
    assert bare.post(f"/workspaces/{wid}/a2a", json=message(PONG),
                     headers={"X-Workspace-ID": "system:x"}).json() == {"error": "invalid caller ID"}


def test_workspace_lifecycle(healthy_tenant, org):
    wid = org.create_workspace("Lifecycle")
    assert org.workspace(wid)["status"] in ("provisioning", "online")
    ws = org.wait_routable(wid)
    assert ws["url"].startswith("http://127.0.0.1:") and "last_sample_error" not in ws
    listed = next(w for w in org.tenant.get("/workspaces").json() if w["id"] == wid)
    assert listed["last_sample_error"] == "" and listed["status"] == "online"
    pid = agent_pids(healthy_tenant.server_log.read_text())[-1]
    assert pid_alive(pid)
    assert org.tenant.delete(f"/workspaces/{wid}").json() == {"status": "removed", "cascade_deleted": 0}
    gone = org.tenant.get(f"/workspaces/{wid}")
    assert gone.status_code == 410 and gone.json()["error"] == "workspace removed"
    assert org.tenant.get(f"/workspaces/{wid}?include_removed=true").json()["status"] == "removed"
    assert all(w["id"] != wid for w in org.tenant.get("/workspaces").json())
    wait_for(lambda: not pid_alive(pid), what="agent process gone")
    assert org.tenant.post("/workspaces", json={"name": "bad{name}"}).json() == {"error": "invalid workspace fields"}


def test_a2a_through_the_proxy(org, online_workspace):
    wid = online_workspace
    pong = org.a2a(wid, PONG)
    assert pong.status_code == 200 and pong.headers["content-type"].startswith("application/json")
    body = pong.json()
    assert body["id"] == "e2e-msg-1" and body["result"]["kind"] == "message" and reply_text(body) == "PONG"
    assert reply_text(org.a2a(wid, KNOWN_ANSWER).json()) == "PINEAPPLE"
    assert reply_text(org.a2a(wid, "What is 12 * (3 + 4)?").json()) == "84"
    bare = org.tenant.post(f"/workspaces/{wid}/a2a", json={"method": "message/send",
                                                          "params": {"message": {"role": "user", "parts": [
                                                              {"kind": "text", "text": "Reply with exactly: ok"}]}}})
    assert reply_text(bare.json()) == "ok"
    bad = org.tenant.post(f"/workspaces/{wid}/a2a", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json() == {"error": "invalid JSON"}
    missing = org.a2a("00000000-0000-4000-8000-000000000000", PONG)
    assert missing.status_code == 404 and missing.json() == {"error": "workspace not found"}


def test_upload_download_byte_identical(org, online_workspace):
    wid = online_workspace
    png = tiny_png()
    up = org.tenant.post(f"/workspaces/{wid}/chat/uploads", files={"files": ("e2e smoke.png", png, "image/png")})
    assert up.status_code == 200, up.text
    item = up.json()["files"][0]
    assert item["mimeType"] == "image/png" and item["size"] == len(png) and item["name"] == "e2e_smoke.png"
    assert re.fullmatch(r"workspace:/workspace/\.molecule/chat-uploads/[0-9a-f]{32}-e2e_smoke\.png", item["uri"])
    down = org.tenant.get(f"/workspaces/{wid}/chat/download", params={"path": item["uri"][len("workspace:"):]})
    assert down.status_code == 200 and hashlib.sha256(down.content).hexdigest() == hashlib.sha256(png).hexdigest()
    assert down.headers["content-type"] == "image/png" and down.headers["content-length"] == str(len(png))
    assert 'filename="' in down.headers["content-disposition"]
    for path, problem in [("", "path query required"), ("workspace/x", "path must be absolute"),
                          ("/etc/passwd", "path must be under /configs, /workspace, /home, or /plugins"),
                          ("/workspace/../etc", "invalid path")]:
        r = org.tenant.get(f"/workspaces/{wid}/chat/download", params={"path": path})
        assert r.status_code == 400 and r.json() == {"error": problem}
    assert org.tenant.post(f"/workspaces/{wid}/chat/uploads", files={"other": ("a", b"x")}).json() == {
        "error": "expected at least one 'files' field"}


def test_terminal_echoes_a_nonce_from_the_workspace_directory(healthy_tenant, org, online_workspace):
    wid = online_workspace
    ws_url = healthy_tenant.tenant_url.replace("http://", "ws://") + f"/workspaces/{wid}/terminal"
    nonce = "nonce-" + secrets.token_hex(8)

    async def session() -> str:
        headers = {"Authorization": f"Bearer {org.token}", "X-Molecule-Org-Id": org.id}
        async with websockets.connect(ws_url, additional_headers=headers, open_timeout=5) as sock:
            await sock.send(f"cd / ; echo {nonce}; pwd\n")
            seen = b""
            async with asyncio.timeout(10):
                while nonce.encode() + b"\r\n" not in seen or wid.encode() not in seen.split(nonce.encode())[-1]:
                    frame = await sock.recv()
                    assert isinstance(frame, bytes)
                    seen += frame
            await sock.send("exit\n")
            return seen.decode(errors="replace")

    out = asyncio.run(session())
    assert nonce in out and wid in out
    assert "restricted" in out  # `cd /` was refused: the shell stays in the workspace directory
    assert wid in out.split(nonce)[-1]  # pwd, printed after the refused cd, is still the workspace's directory

    async def rejected() -> int:
        try:
            async with websockets.connect(ws_url, additional_headers={"X-Molecule-Org-Id": org.id}, open_timeout=5):
                return 101
        except websockets.exceptions.InvalidStatus as exc:
            assert json.loads(exc.response.body) == {"error": "missing workspace auth token"}
            return exc.response.status_code
    assert asyncio.run(rejected()) == 401
    diagnose = org.tenant.get(f"/workspaces/{wid}/terminal/diagnose").json()
    assert diagnose["ok"] is True and [s["name"] for s in diagnose["steps"]] == [
        "docker-available", "container-found", "container-running"]


def test_config_put_restarts_with_a_new_url_and_streams_events(healthy_tenant, org):
    wid = org.create_workspace("Config")
    before = org.wait_routable(wid)["url"]
    ws_url = healthy_tenant.tenant_url.replace("http://", "ws://") + "/ws"

    async def run() -> tuple[list[dict], bytes]:
        async with websockets.connect(ws_url, additional_headers={"X-Molecule-Org-Id": org.id}) as sock:
            async with httpx.AsyncClient(base_url=healthy_tenant.tenant_url, headers=dict(org.tenant.headers),
                                         timeout=TIMEOUT) as client:
                async with client.stream("GET", f"/workspaces/{wid}/events/stream") as sse:
                    r = await client.put(f"/workspaces/{wid}/files/config.yaml",
                                         json={"content": "name: synth-canary\nruntime: claude-code\n"})
                    assert r.status_code == 200 and r.json() == {"status": "saved", "path": "config.yaml"}
                    events, first = [], b""
                    async with asyncio.timeout(10):
                        async for chunk in sse.aiter_bytes():
                            first += chunk
                            if b"WORKSPACE_ONLINE" in first:
                                break
                        while not any(e["event"] == "WORKSPACE_ONLINE" for e in events):
                            events.append(json.loads(await sock.recv()))
                    return events, first

    events, sse_bytes = asyncio.run(run())
    kinds = [e["event"] for e in events if e["workspace_id"] == wid]
    assert kinds.index("WORKSPACE_PROVISIONING") < kinds.index("WORKSPACE_ONLINE")
    online = next(e for e in events if e["event"] == "WORKSPACE_ONLINE")
    assert online["payload"]["url"] != before and re.fullmatch(r".+T.+\.\d{3}Z", online["timestamp"])
    assert sse_bytes.startswith(b": ping\n\n") and b'data: {"type": "WORKSPACE_PROVISIONING"' in sse_bytes
    after = org.wait_routable(wid)
    assert after["url"] != before
    assert reply_text(org.a2a(wid, PONG).json()) == "PONG"
    assert org.tenant.get(f"/workspaces/{wid}/files/config.yaml").json()["content"].startswith("name: synth-canary")
    log = wait_for(lambda: (t := healthy_tenant.server_log.read_text()) and f"restart-context: delivered to {wid}" in t
                   and t, what="restart-context delivered")
    assert f'Restart: workspace Config ({wid}) runtime="claude-code"' in log
    assert re.search(rf"restart-context: delivered to {wid} \(status=200, keys=0\)", log)
    assert org.tenant.put(f"/workspaces/{wid}/files/../x", json={"content": ""}).status_code in (400, 404)


def test_server_log_lines_have_platform_shapes_and_no_secrets(healthy_tenant, org, online_workspace):
    text = healthy_tenant.server_log.read_text()
    lines = [line for line in text.splitlines() if line]
    assert lines and all(GO_LOG.match(line) or GIN_LOG.match(line) for line in lines), [
        line for line in lines if not (GO_LOG.match(line) or GIN_LOG.match(line))][:3]
    assert "Platform starting on :" in text and "[GIN]" in text
    assert healthy_tenant.admin_token not in text and org.token not in text


def test_dead_agent_is_swept_offline_and_restarted_with_a_new_url(healthy_tenant, org):
    wid = org.create_workspace("Sweep")
    before = org.wait_routable(wid)["url"]
    pid = agent_pids(healthy_tenant.server_log.read_text())[-1]
    os.kill(pid, signal.SIGKILL)
    after = org.wait_routable(wid, not_url=before)
    assert after["status"] == "online" and reply_text(org.a2a(wid, PONG).json()) == "PONG"
    log = healthy_tenant.server_log.read_text()
    assert f"Health sweep: container for {wid} is gone — marking offline" in log
    assert f'Auto-restart: restarting Sweep ({wid}) runtime="claude-code" (was: offline)' in log
    kinds = [e["event_type"] for e in org.tenant.get(f"/events/{wid}").json()]
    assert kinds[:3] == ["WORKSPACE_ONLINE", "WORKSPACE_PROVISIONING", "WORKSPACE_OFFLINE"]
