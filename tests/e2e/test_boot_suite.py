"""Tests OF the boot suite: run it as a subprocess against the local tenant and read its reports.

The evidence loop: local tenant with fault X -> the suite fails at step S with message M ->
forensics on the suite's own reports pins X (rca.json).
"""

from __future__ import annotations

import json
import re
import signal
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from e2e import ledger, local_tenant
from tests.e2e.suite_runner import (SuiteRun, group_alive, pid_alive, processes_touching, run_suite, start_suite,
                                    tenant_pid, terminate, wait_for_line)

pytestmark = pytest.mark.slow

STEPS = ["preflight", "provision", "routing", "image_roundtrip", "terminal", "config_put", "pong", "known_answer"]
FAST_FAIL = ("--failed-grace", "1", "--online-timeout", "20", "--events", "off")  # also covers polling-only waits


def assert_no_orphans(run: SuiteRun) -> None:
    pid = tenant_pid(run.run_log)
    assert pid is not None, "the run log names the local tenant's pid"
    assert not pid_alive(pid), f"local tenant pid {pid} outlived the session"
    assert not group_alive(pid), "an agent of the local tenant's process group outlived the session"
    assert processes_touching(run.reports) == []
    assert ledger.outstanding(ledger.read(run.reports)) == []


def assert_blocked_after(run: SuiteRun, runtime: str, step: str) -> None:
    outcomes = run.outcomes()
    later = STEPS[STEPS.index(step) + 1:]
    for name in later:
        state, message = outcomes[f"test_{name}[{runtime}]"]
        assert state == "skipped" and f"blocked by {step.replace('_', '-')}" in message, (name, state, message)


def test_healthy_boot_passes_every_step_and_writes_reports(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "reports")
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    outcomes = run.outcomes()
    assert [outcomes[f"test_{s}[claude-code]"][0] for s in STEPS] == ["passed"] * len(STEPS)

    lines = run.run_log.splitlines()
    datetime.fromisoformat(lines[0].split(" ", 1)[0].replace("Z", "+00:00"))  # first line: full ISO date/time
    assert all(re.match(r"^(\[\d\d:\d\d:\d\d\] |    |⚠️)", line) for line in lines[1:]), "harness grammar"
    log = run.run_log
    for expected in ("0/11 Preflight", "✅ A2A parent round-trip succeeded: \"PONG\"", "config.yaml PUT OK (HTTP 200)",
                     "online and routable", "real completion verified (contains 'PINEAPPLE'",
                     "terminal-reachable", "image upload/download OK (image/png, sha256=", "Teardown clean"):
        assert expected in log, expected
    assert "✅ A2A parent round-trip succeeded" in run.stdout, "the run log also goes to stdout"

    events = run.events()
    assert {"ts", "step", "kind", "message"} <= set(events[0])
    assert any(e["kind"] == "http" and e["step"] == "image-roundtrip" for e in events)
    assert [e["message"] for e in events if e["kind"] == "step"][:2] == ["preflight passed", "provision passed"]

    allure = run.reports / "allure-results"
    categories = json.loads((allure / "categories.json").read_text())
    assert {"Product defect", "Infrastructure problem"} <= {c["name"] for c in categories}
    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    pong = next(r for r in results if r["name"].startswith("test_pong"))
    assert any(step["name"].startswith("POST /workspaces/") and step.get("attachments") for step in pong["steps"])
    assert not (run.reports / "rca.json").exists(), "no RCA for a passing run"
    assert_no_orphans(run)


FAULTS = [
    # fault, extra options, failing step, message pattern in the ❌ line
    ("llm-401", (), "pong", r"A2A — REGRESSION: hermes gateway auth broken .*\[hermes-agent error 401\]"),
    ("cold-boot-crash", FAST_FAIL, "provision",
     r"never reached status=online within .*last status=failed.*err=.*(Traceback|Error|CRASHED)"),
    ("destructive-restart", (), "known_answer",
     r"A2A known-answer failed after \d+ attempt\(s\) \(curl_rc=22, http=503\): .*workspace has no URL"),
    ("deploy-lag", (), "preflight", r"is stale: actual=\w+, expected=\w+ .*/buildinfo git_sha="),
]


@pytest.mark.parametrize("fault,extra,step,message", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_fails_at_its_step_and_rca_pins_it(tmp_path: Path, fault: str, extra: tuple[str, ...],
                                                 step: str, message: str) -> None:
    run = run_suite(tmp_path / "reports", "--fault", fault, *extra)
    assert run.rc == 1, run.stdout[-3000:]
    assert run.failed_steps() == [f"test_{step}[claude-code]"]
    assert re.search(r"❌ .*" + message, run.run_log), run.run_log[-3000:]
    assert_blocked_after(run, "claude-code", step)
    rca = run.rca()
    assert rca["outcome"] == "failed"
    assert rca["primary"] == fault, rca["headline"]
    assert rca["hypotheses"][fault]["verdict"] == "pinned"
    assert rca["failed_step"] == step.replace("_", "-")
    assert (run.reports / "rca.md").read_text().strip() and "<html" in (run.reports / "rca.html").read_text().lower()
    assert_no_orphans(run)


def test_cpu_exhaustion_with_small_budgets_times_out_and_rca_pins_it(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "reports", "--fault", "cpu-exhaustion", "--http-timeout", "2",
                    "--a2a-timeout", "2", "--online-timeout", "8")
    assert run.rc == 1, run.stdout[-3000:]
    failed = run.failed_steps()
    assert len(failed) == 1
    step = failed[0].split("[", 1)[0].removeprefix("test_")
    assert step in STEPS[1:], step  # the host is starved: the first stalled request fails, after preflight
    assert re.search(r"❌ .*(timeout|timed out|curl_rc=28|returned 000)", run.run_log), run.run_log[-2000:]
    assert_blocked_after(run, "claude-code", step)
    rca = run.rca()
    assert rca["primary"] == "cpu-exhaustion", rca["headline"]
    assert rca["failed_step"] == step.replace("_", "-")
    assert_no_orphans(run)


def test_three_runtimes_in_parallel_pass_and_leave_no_orphans(tmp_path: Path) -> None:
    runtimes = ("claude-code", "hermes", "langgraph")
    args = ["-n", "3"] + [a for r in runtimes for a in ("--runtime", r)]
    run = run_suite(tmp_path / "reports", *args, timeout=170)
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    outcomes = run.outcomes()
    assert sorted(outcomes) == sorted(f"test_{s}[{r}]" for s in STEPS for r in runtimes)
    assert {state for state, _ in outcomes.values()} == {"passed"}
    assert run.run_log.count("✅ Teardown clean — no orphan resources for e2e-") == 3
    assert "✅ A2A parent round-trip succeeded" in run.stdout, "worker lines reach the controller's stdout"
    assert_no_orphans(run)


@pytest.fixture(scope="module")
def own_tenant(tmp_path_factory: pytest.TempPathFactory):
    """A local tenant this test module starts itself (so it knows the admin token)."""
    base = tmp_path_factory.mktemp("own-tenant")
    tenant = local_tenant.start(("llm-401@langgraph",), None, base / "server.log", base / "state")
    yield tenant.ready
    tenant.stop()
    assert not pid_alive(tenant.pid)


def test_secrets_never_reach_reports(tmp_path: Path, own_tenant: dict) -> None:
    seeded = "sk-e2eSEEDEDsecret0123456789abcdef"
    run = run_suite(tmp_path / "reports", "--cp-url", own_tenant["cp_url"], "--admin-token", own_tenant["admin_token"],
                    "--tenant-url", own_tenant["tenant_url"], "--runtime", "langgraph",
                    "--workspace-secret", f"OPENAI_API_KEY={seeded}")
    assert run.rc == 1, run.stdout[-3000:]  # llm-401 on this runtime: the RCA files are written too
    assert (run.reports / "rca.json").exists()
    files = [p for p in run.reports.rglob("*") if p.is_file()]
    assert len(files) > 10
    leaked_bearer = re.compile(r"Bearer (?!\[REDACTED\])[A-Za-z0-9._~+/=-]{6,}")
    leaked_token_field = re.compile(r"admin_token\\?\"?\s*[:=]\s*\\?\"?(?!\[REDACTED\])[A-Za-z0-9_-]{6,}")
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for secret in (own_tenant["admin_token"], seeded):
            assert secret not in text, f"{secret[:6]}… leaked into {path}"
        assert not leaked_bearer.search(text), path
        assert not leaked_token_field.search(text), path
    for stream in (run.stdout, run.stderr):
        assert own_tenant["admin_token"] not in stream and seeded not in stream
    assert "[REDACTED]" in (run.reports / "events.jsonl").read_text() or "[REDACTED]" in run.run_log \
        or any("[REDACTED]" in p.read_text(errors="replace") for p in (run.reports / "allure-results").glob("*"))


def test_existing_tenant_keep_then_rerun_one_step_on_the_same_workspace(tmp_path: Path, own_tenant: dict) -> None:
    cp = httpx.Client(base_url=own_tenant["cp_url"], timeout=10,
                      headers={"Authorization": f"Bearer {own_tenant['admin_token']}"})
    slug = "e2e-test-existing-tenant"
    org = cp.post("/cp/admin/orgs", json={"slug": slug, "name": slug, "owner_user_id": "e2e-test"}).json()
    try:
        for _ in range(100):
            rows = cp.get("/cp/admin/orgs").json()["orgs"]
            if any(o["slug"] == slug and o.get("instance_status") == "running" for o in rows):
                break
            import time

            time.sleep(0.05)
        token = cp.get(f"/cp/admin/orgs/{slug}/admin-token").json()["admin_token"]
        target = ("--tenant-url", own_tenant["tenant_url"], "--org-id", org["id"], "--tenant-token", token)
        first = run_suite(tmp_path / "first", *target, "--keep")
        assert first.rc == 0, first.stdout[-3000:]
        wid = re.search(r"PARENT_ID=([0-9a-f-]{36})", first.run_log).group(1)
        assert "--keep (E2E_KEEP_ORG=1) — skipping teardown" in first.run_log
        assert token not in first.run_log

        second = run_suite(tmp_path / "second", *target, "--workspace-id", wid, "-k", "pong or known_answer")
        assert second.rc == 0, second.stdout[-3000:]
        assert set(second.outcomes()) == {"test_pong[claude-code]", "test_known_answer[claude-code]"}
        assert "Tearing down" not in second.run_log, "a reused workspace is never deleted"
        tenant = httpx.Client(base_url=own_tenant["tenant_url"], timeout=10,
                              headers={"Authorization": f"Bearer {token}", "X-Molecule-Org-Id": org["id"]})
        assert tenant.get(f"/workspaces/{wid}").json()["status"] == "online"
        tenant.delete(f"/workspaces/{wid}", params={"confirm": "true"})
        tenant.close()
    finally:
        cp.request("DELETE", f"/cp/admin/tenants/{slug}", json={"confirm": slug})
        cp.close()


def test_sigterm_mid_run_still_tears_down(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = start_suite(reports)
    try:
        assert wait_for_line(reports / "run.log", r"PARENT_ID=", timeout=60)
    finally:
        rc, out, err = terminate(proc, signal.SIGTERM)
    run = SuiteRun(rc, out, err, reports)
    assert rc != 0
    log = run.run_log
    assert "🧹 Tearing down workspace" in log and "Teardown clean — no orphan resources for e2e-" in log, log[-2000:]
    assert "Local tenant stopped" in log
    assert "Traceback" not in err
    assert_no_orphans(run)


@pytest.mark.parametrize("args,needle", [
    (("--check-mode", "bogus"), "--check-mode"),
    (("--cp-url", "http://127.0.0.1:9"), "--admin-token"),
    (("--tenant-url", "http://127.0.0.1:9"), "--org-id"),
    (("--online-timeout", "soon"), "--online-timeout"),
])
def test_bad_options_give_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    run = run_suite(tmp_path / "reports", *args, timeout=60)
    assert run.rc == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines and needle in lines[0]


def test_fixed_check_mode_answers_202_and_the_suite_follows_the_queue(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "reports", "--fault", "destructive-restart", "--check-mode", "fixed")
    assert run.rc == 0, run.run_log[-3000:]
    assert re.search(r"A2A known-answer A2A queued \(queue_id=[0-9a-f-]+\); switching to poll", run.run_log)
    assert "real completion verified (contains 'PINEAPPLE'" in run.run_log
    assert "restart triggered" not in run.run_log


def test_sweep_stale_deletes_old_e2e_orgs_only(tmp_path: Path, own_tenant: dict) -> None:
    cp = httpx.Client(base_url=own_tenant["cp_url"], timeout=10,
                      headers={"Authorization": f"Bearer {own_tenant['admin_token']}"})
    try:
        for slug in ("e2e-stale-sweep-me", "keep-not-e2e"):
            assert cp.post("/cp/admin/orgs", json={"slug": slug, "name": slug, "owner_user_id": "t"}).status_code < 300
        import time

        time.sleep(1.0)
        run = run_suite(tmp_path / "reports", "--cp-url", own_tenant["cp_url"], "--admin-token",
                        own_tenant["admin_token"], "--tenant-url", own_tenant["tenant_url"],
                        "--sweep-stale", "0.0002", "-k", "preflight")
        assert run.rc == 0, run.run_log[-2000:]
        assert "stale org e2e-stale-sweep-me" in run.run_log
        slugs = {o["slug"] for o in cp.get("/cp/admin/orgs").json()["orgs"]}
        assert "e2e-stale-sweep-me" not in slugs and "keep-not-e2e" in slugs
    finally:
        cp.request("DELETE", "/cp/admin/tenants/keep-not-e2e", json={"confirm": "keep-not-e2e"})
        cp.close()


def test_a_fault_on_one_runtime_of_a_parallel_run_blocks_only_that_runtime(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "reports", "-n", "2", "--runtime", "claude-code", "--runtime", "hermes",
                    "--fault", "llm-401@hermes", timeout=170)
    assert run.rc == 1, run.stdout[-3000:]
    assert run.failed_steps() == ["test_pong[hermes]"]
    assert_blocked_after(run, "hermes", "pong")
    assert all(run.outcomes()[f"test_{s}[claude-code]"][0] == "passed" for s in STEPS)
    rca = run.rca()
    assert (rca["primary"], rca["failed_step"]) == ("llm-401", "pong")
    assert_no_orphans(run)


def test_failed_runs_are_recorded_in_history_and_the_rca_says_it_recurs(tmp_path: Path) -> None:
    """The gate's RCA carries the known-issue and recurrence story when FORENSICS_HISTORY_DB is set."""
    db = tmp_path / "history.sqlite"
    for attempt in ("first", "second"):
        run = run_suite(tmp_path / attempt, "--fault", "destructive-restart", extra_env={"FORENSICS_HISTORY_DB": str(db)})
        assert run.rc == 1, run.stdout[-2000:]
    md = (tmp_path / "second" / "rca.md").read_text(encoding="utf-8")
    assert "#2917-class, recurring after its fix was merged" in md
    assert "seen in 2 of the last 2 runs" in md
    from forensics import history

    rows = history.recent(history.connect(db, create=False), limit=10)
    assert [r.primary for r in rows] == ["destructive-restart", "destructive-restart"]
