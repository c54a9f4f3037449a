"""After the tenant stops (SIGTERM, SIGINT, or even SIGKILL) no process it started is alive."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
import websockets

from fixtures.pytest_plugin import launch
from tests.tenant.platform_client import agent_pids, new_org, pid_alive, wait_for

pytestmark = pytest.mark.slow


def boot_two_workspaces(tenant) -> list[int]:
    org = new_org(tenant)
    wids = [org.create_workspace("A"), org.create_workspace("B", runtime="hermes")]
    for wid in wids:
        org.wait_routable(wid)
    pids = agent_pids(tenant.server_log.read_text())
    assert len(pids) == 2 and all(pid_alive(p) for p in pids)
    return pids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_leaves_no_process(sig):
    tenant = launch()
    try:
        pids = boot_two_workspaces(tenant)
    finally:
        code = tenant.stop(sig)
    try:
        assert code == 0
        assert not tenant.group_alive()
        assert not any(pid_alive(p) for p in pids)
        assert tenant.server_log.read_text().rstrip().endswith("Platform stopped")
    finally:
        tenant.cleanup()


def test_open_terminal_shell_is_stopped_too():
    tenant = launch()
    try:
        org = new_org(tenant)
        wid = org.create_workspace()
        org.wait_routable(wid)
        url = tenant.tenant_url.replace("http://", "ws://") + f"/workspaces/{wid}/terminal"

        async def shell_pid() -> int:
            headers = {"Authorization": f"Bearer {org.token}", "X-Molecule-Org-Id": org.id}
            sock = await websockets.connect(url, additional_headers=headers)
            await sock.send("echo SHELLPID=$$\n")
            seen = b""
            async with asyncio.timeout(10):
                while not (seen.split(b"SHELLPID=")[-1][:1].isdigit() and b"\r" in seen.split(b"SHELLPID=")[-1]):
                    seen += await sock.recv()
            pid = int(seen.split(b"SHELLPID=")[-1].split(b"\r")[0])
            assert pid_alive(pid)
            tenant.stop()          # the socket is still open: the tenant must stop the shell itself
            await asyncio.sleep(0)
            return pid

        pid = asyncio.run(shell_pid())
    finally:
        tenant.cleanup()
    assert not pid_alive(pid)


def test_agents_exit_when_the_tenant_is_killed():
    tenant = launch()
    try:
        pids = boot_two_workspaces(tenant)
        tenant.process.kill()          # no cleanup code runs in the tenant
        tenant.process.wait(5)
        wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5, what="orphaned agents exit")
    finally:
        tenant.cleanup()
    assert not tenant.group_alive()


@pytest.mark.parametrize("args, needle", [(["--fault", "nope"], "unknown fault 'nope'"),
                                          (["--host", "0.0.0.0"], "--host must be a loopback address"),
                                          (["--provision-delay", "-1"], "--provision-delay must be >= 0"),
                                          (["--tenant-port", "99999"], "--tenant-port must be 0-65535"),
                                          (["--bogus"], "unrecognized arguments: --bogus"),
                                          (["--state-dir", "/dev/null/x"], "cannot start: [Errno 20]")])
def test_bad_input_gives_one_line_and_a_non_zero_exit(args, needle):
    r = subprocess.run([sys.executable, "-m", "fixtures.tenant", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == (1 if "cannot start" in needle else 2) and needle in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ctrl_c_to_the_whole_process_group_stops_cleanly():
    """A terminal's Ctrl-C reaches the tenant and its agents at once; the agents leave the stopping to the tenant."""
    tenant = launch()
    try:
        pids = boot_two_workspaces(tenant)
        os.killpg(tenant.pid, signal.SIGINT)
        assert tenant.process.wait(10) == 0
        wait_for(lambda: not tenant.group_alive(), timeout=5, what="process group empty")
        assert not any(pid_alive(p) for p in pids)
        log = tenant.server_log.read_text()
        assert "Health sweep: container" not in log and log.rstrip().endswith("Platform stopped")
    finally:
        tenant.cleanup()


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def test_agents_are_real_processes_forked_by_the_fork_server():
    """Agents are forked from the warm fork server, not started by the asyncio tenant itself,
    and every one is still a separate live process until the tenant stops."""
    tenant = launch()
    try:
        pids = boot_two_workspaces(tenant)
        parents = {_parent_pid(p) for p in pids}
        assert tenant.ready["pid"] not in parents, "agents were spawned directly, not by the fork server"
        assert len(parents) == 1
        (zygote,) = parents
        assert _parent_pid(zygote) == tenant.ready["pid"]
        assert len(set(pids)) == 2
    finally:
        tenant.stop(signal.SIGTERM)
        tenant.cleanup()
    assert not any(pid_alive(p) for p in pids)
