"""Each fault reproduces what staging printed (platform-api.md §13, seed #2929, forensics dev corpus)."""
from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.tenant.platform_client import KNOWN_ANSWER, PONG, new_org, reply_text, wait_for

pytestmark = pytest.mark.slow
CONFIG = "# molecule-synth-e2e: run-1 claude-code 2026-06-15T08:33:37Z\nname: synth-canary\nruntime: claude-code\n"
BODY_12 = {"error": "workspace agent unreachable — container restart triggered", "restarting": True}


def config_put_and_recover(org, wid: str) -> dict:
    before = org.workspace(wid)["url"]
    r = org.tenant.put(f"/workspaces/{wid}/files/config.yaml", json={"content": CONFIG})
    assert r.status_code == 200 and r.json() == {"status": "saved", "path": "config.yaml"}
    return org.wait_routable(wid, not_url=before)


def test_destructive_restart_legacy_reproduces_the_seed(local_tenant):
    tenant = local_tenant("--fault", "destructive-restart")
    assert tenant.ready["check_mode"] == "legacy"
    org = new_org(tenant)
    wid = org.create_workspace()
    org.wait_routable(wid)
    config_put_and_recover(org, wid)

    pong = org.a2a(wid, PONG)
    assert pong.status_code == 200 and reply_text(pong.json()) == "PONG"
    known = org.a2a(wid, KNOWN_ANSWER)
    assert known.status_code == 503
    assert known.json() == BODY_12 and "retry-after" not in known.headers
    again = org.a2a(wid, KNOWN_ANSWER)
    assert again.status_code == 503
    assert again.json() == {"error": "workspace has no URL", "status": "offline"}
    time.sleep(1.5)   # longer than the settle window: the container is not brought back
    assert org.workspace(wid)["status"] == "offline" and org.workspace(wid)["url"] == ""

    log = tenant.server_log.read_text()
    assert re.search(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ProxyA2A forward error: Post \"http://127\.0\.0\.1:\d+\": ",
                     log, re.M)
    assert f"ProxyA2A: container for {wid} is dead — marking offline and triggering restart" in log
    assert re.search(rf"RestartByID: {wid} — dropped \(within 1m0s self-fire debounce window; total dropped=1\)", log)
    assert re.search(r'\| 503 \|.*\| POST +"/workspaces/' + wid + '/a2a"', log)


def test_destructive_restart_fixed_mode_queues_instead_of_restarting(local_tenant):
    tenant = local_tenant("--fault", "destructive-restart", "--check-mode", "fixed")
    org = new_org(tenant)
    wid = org.create_workspace()
    org.wait_routable(wid)
    url_after_put = config_put_and_recover(org, wid)["url"]

    assert reply_text(org.a2a(wid, PONG).json()) == "PONG"
    known = org.a2a(wid, KNOWN_ANSWER)
    if known.status_code == 202:
        body = known.json()
        assert body["queued"] is True and body["queue_id"]
        assert body["message"] == "workspace agent busy — request queued, will dispatch when capacity available"

        def completed():
            r = org.tenant.get(f"/workspaces/{wid}/a2a/queue/{body['queue_id']}", headers={"X-Workspace-ID": wid})
            assert r.status_code == 200, r.text
            return r.json() if r.json()["status"] == "completed" else None
        item = wait_for(completed, timeout=10, what="queued known-answer completed")
        assert reply_text(item["response_body"]) == "PINEAPPLE"
    else:   # a clean retry (502 failed to reach) is also acceptable; never a restart
        assert known.status_code == 502, known.text
    ws = org.wait_routable(wid, not_url=url_after_put)
    assert ws["status"] == "online"
    assert reply_text(org.a2a(wid, KNOWN_ANSWER).json()) == "PINEAPPLE"
    log = tenant.server_log.read_text()
    assert "is dead — marking offline" not in log
    assert f"ProxyA2A: maybeMarkContainerDead for {wid} is in post-restart settle window — using conservative path" in log
    assert re.search(rf"ProxyA2A: target {wid} busy/settling — enqueued as \S+ \(depth=1\)", log)
    assert "A2AQueue drain: dispatched" in log


def test_llm_401_reply_carries_the_provider_error_and_selector_limits_it(local_tenant):
    tenant = local_tenant("--fault", "llm-401@hermes")
    org = new_org(tenant)
    hermes = org.create_workspace("E2E Parent", runtime="hermes")
    claude = org.create_workspace("E2E Other", runtime="claude-code")
    org.wait_routable(hermes)
    org.wait_routable(claude)
    text = reply_text(org.a2a(hermes, PONG).json())
    assert text.startswith("[hermes-agent error 401]") and "User not found." in text
    assert reply_text(org.a2a(claude, PONG).json()) == "PONG"


def test_cold_boot_crash_fails_with_traceback_and_never_comes_online(local_tenant):
    tenant = local_tenant("--fault", "cold-boot-crash")
    org = new_org(tenant)
    wid = org.create_workspace()
    seen = set()

    def failed():
        seen.add(org.workspace(wid)["status"])
        return "failed" in seen
    wait_for(failed, timeout=10, what="status failed")
    time.sleep(0.3)
    assert org.workspace(wid)["status"] == "failed" and "online" not in seen
    row = next(w for w in org.tenant.get("/workspaces").json() if w["id"] == wid)
    err = row["last_sample_error"]
    assert err.startswith("RUNTIME CRASHED (exit status 1)")
    assert "Traceback (most recent call last):" in err
    assert "ProviderKeyMissing: hermes-gateway: fatal: No provider API key found" in err
    assert "last_sample_error" not in org.workspace(wid)
    log = tenant.server_log.read_text()
    assert f"Provisioner: workspace start failed for {wid}: RUNTIME CRASHED (exit status 1)" in log
    assert re.search(rf'BootstrapFailed: marked {wid} failed \(tail=\d+ bytes, err="RUNTIME CRASHED \(exit status 1\)"\)', log)
    r = org.a2a(wid, PONG)
    assert r.status_code == 503 and r.json() == {"error": "workspace has no URL", "status": "failed"}


def test_cpu_exhaustion_stalls_requests_and_logs_host_diagnostics(local_tenant):
    tenant = local_tenant("--fault", "cpu-exhaustion", "--stall", "3")
    org = new_org(tenant)
    wid = org.create_workspace()
    org.wait_routable(wid, timeout=20)
    with pytest.raises(httpx.ReadTimeout):
        org.tenant.post(f"/workspaces/{wid}/chat/uploads", files={"files": ("x.png", b"\x89PNG", "image/png")},
                        timeout=httpx.Timeout(1.0, connect=1.0))
    queued = org.a2a(wid, PONG, **{"X-Timeout": "1"})
    assert queued.status_code == 202 and queued.json()["queued"] is True
    log = tenant.server_log.read_text()
    assert "load average: 27.31, 26.88, 24.40" in log
    assert "ws-* containers: 38 running (31 belong to purged e2e orgs)" in log
    assert "Memory cgroup out of memory: Killed process" in log
    assert re.search(r'ProxyA2A forward error: Post "http://127\.0\.0\.1:\d+": context deadline exceeded', log)
    assert re.search(rf"ProxyA2A: target {wid} busy — enqueued as \S+ \(depth=1\)", log)


def test_deploy_lag_buildinfo_is_older_than_published_and_redeploy_fails(local_tenant):
    tenant = local_tenant("--fault", "deploy-lag")
    assert tenant.ready["git_sha"] != tenant.ready["published_sha"]
    org = new_org(tenant)
    assert httpx.get(tenant.tenant_url + "/buildinfo").json() == {"git_sha": tenant.ready["git_sha"]}
    assert tenant.ready["git_sha"].startswith("a962ea05") and tenant.ready["published_sha"].startswith("ccdd20d2")
    r = httpx.post(tenant.cp_url + "/cp/admin/tenants/redeploy-fleet", json={"target_tag": "staging-latest", "confirm": True},
                   headers={"Authorization": f"Bearer {tenant.admin_token}"})
    assert r.status_code == 500 and r.json()["ok"] is False and r.json()["healthy"] == 0
    assert "ValidationException" in r.json()["results"][0]["error"]
    assert org.slug in r.json()["stragglers"]
    assert httpx.get(tenant.tenant_url + "/buildinfo").json()["git_sha"] == tenant.ready["git_sha"]
