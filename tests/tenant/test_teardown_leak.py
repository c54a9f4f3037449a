"""`teardown-leak`: deletes answer as on staging, but the delete cascade is stuck, so nothing goes away.

Also: an unknown fault name is refused at start with one line listing every known fault (exit 2).
"""
from __future__ import annotations

import re
import subprocess
import sys

from fixtures.tenant.options import FAULTS
from tests.tenant.platform_client import PONG, cp_client, new_org, reply_text

LEAK = FAULTS["teardown-leak"]


def listed_slugs(cp) -> set[str]:
    r = cp.get("/cp/admin/orgs")
    assert r.status_code == 200
    return {o["slug"] for o in r.json()["orgs"]}


def test_teardown_leak_accepts_deletes_but_the_org_and_workspace_stay(local_tenant):
    tenant = local_tenant("--fault", "teardown-leak")
    assert tenant.ready["faults"] == ["teardown-leak"]
    org = new_org(tenant)
    wid = org.create_workspace()
    org.wait_routable(wid)

    deleted = org.tenant.delete(f"/workspaces/{wid}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "removed"   # what staging answers
    after = org.workspace(wid)                                                      # ... but it is still there
    assert after["status"] == "online" and after["url"]
    assert reply_text(org.a2a(wid, PONG).json()) == "PONG", "the agent keeps running"

    cp = cp_client(tenant)
    try:
        gone = cp.request("DELETE", f"/cp/admin/tenants/{org.slug}", json={"confirm": org.slug})
        assert gone.status_code in (200, 204)
        assert org.slug in listed_slugs(cp), "a stuck cascade leaves the org listed (the leak check's evidence)"
        again = cp.request("DELETE", f"/cp/admin/tenants/{org.slug}", json={"confirm": org.slug})
        assert again.status_code in (200, 204) and org.slug in listed_slugs(cp)
        bad = cp.request("DELETE", f"/cp/admin/tenants/{org.slug}", json={"confirm": "other"})
        assert bad.status_code == 400, "the confirm body is still checked"
    finally:
        cp.close()
    assert org.workspace(wid)["status"] == "online", "the org delete did not stop its workspaces either"

    log = tenant.server_log.read_text()
    assert (f'LEAK-SUSPECT cpProv.Stop workspace_id={wid} source={LEAK["workspace_source"]} '
            f'attempts={LEAK["workspace_attempts"]} last_err="{LEAK["workspace_last_err"]}"') in log
    assert re.search(rf"^\d{{4}}/\d\d/\d\d \d\d:\d\d:\d\d CP: tenant {org.slug} delete accepted \(org {org.id}\) "
                     rf"— delete cascade stuck: ", log, re.M)
    assert f"CP: tenant {org.slug} deleted" not in log
    tenant.stop()
    assert not tenant.group_alive(), "the leaked workspace's agent still stops with the tenant"


def test_without_the_fault_the_same_deletes_remove_everything(healthy_tenant):
    org = new_org(healthy_tenant)
    wid = org.create_workspace()
    assert org.tenant.delete(f"/workspaces/{wid}").status_code == 200
    assert org.tenant.get(f"/workspaces/{wid}").status_code == 410
    cp = cp_client(healthy_tenant)
    try:
        assert cp.request("DELETE", f"/cp/admin/tenants/{org.slug}", json={"confirm": org.slug}).status_code == 200
        assert org.slug not in listed_slugs(cp)
    finally:
        cp.close()


def test_an_unknown_fault_is_refused_at_start_with_the_known_ones():
    r = subprocess.run([sys.executable, "-m", "fixtures.tenant", "--fault", "teardown-lek"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith("molecule-local-tenant: unknown fault 'teardown-lek' (known: ")
    assert all(name in lines[0] for name in FAULTS), lines[0]
