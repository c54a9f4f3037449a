"""The suite end to end on two edges: a teardown that leaves something behind (exit 4), and a fault name the
local tenant refuses (a usage error: one stderr line, exit 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e import ledger, local_tenant
from tests.e2e.suite_runner import processes_touching, run_suite
from tests.e2e.test_boot_suite import STEPS, assert_no_orphans

pytestmark = pytest.mark.slow


def test_a_stuck_delete_cascade_is_a_leak_every_step_passes_and_the_session_exits_4(tmp_path: Path) -> None:
    run = run_suite(tmp_path / "reports", "--fault", "teardown-leak", "--leak-timeout", "1", timeout=90)
    assert run.rc == 4, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr

    steps = [e["message"] for e in run.events() if e["kind"] == "step"]
    assert steps == [f"{s.replace('_', '-')} passed" for s in STEPS], steps
    outcomes = run.outcomes()
    assert all(outcomes[f"test_{s}[claude-code]"][0] == "passed" for s in STEPS[:-1])
    state, message = outcomes["test_known_answer[claude-code]"]   # the boot fixture's teardown follows the last step
    assert state == "error" and "LEAK: org e2e-" in message and "(harness exit 4)" in message, (state, message)

    created = {e["kind"]: e["ident"] for e in ledger.read(run.reports) if e["op"] == "created"}
    slug, wid = created["org"], created["workspace"]
    log = run.run_log
    # the [J] harness's leak lines (platform-api.md §13), naming what was left behind
    assert re.search(rf"^⚠️  LEAK: org {slug} still present post-teardown after \d+s \(count=1\)$", log, re.M), log[-2500:]
    assert re.search(rf"^⚠️  LEAK: workspace {wid} still present post-teardown after \d+s \(http=200 status=online\)$",
                     log, re.M)
    verdicts = re.findall(r"❌ LEAK: (org|workspace) (\S+) .* teardown left it behind \(exit 4\)$", log, re.M)
    assert sorted(verdicts) == sorted([("org", slug), ("workspace", wid)]), verdicts
    assert "Safety-net teardown" not in log, "a verified leak is reported once, not deleted again"
    assert "Teardown clean" not in log
    assert re.search(rf"CP: tenant {slug} delete accepted .* delete cascade stuck", (run.reports / "tenant-server.log").read_text())
    assert "Local tenant stopped" in log
    assert_no_orphans(run)   # the leak is the tenant's state; no process of this run outlives it


@pytest.mark.parametrize("parallel", [(), ("-n", "2")], ids=["single", "xdist"])
def test_a_fault_name_the_local_tenant_refuses_is_a_usage_error(tmp_path: Path, parallel: tuple[str, ...]) -> None:
    run = run_suite(tmp_path / "reports", *parallel, "--fault", "no-such-fault", timeout=60)
    assert run.rc == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr + run.stdout
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert re.search(r"e2e: --fault: unknown fault 'no-such-fault' \(known: .*teardown-leak", lines[0]), lines[0]
    assert "refused its options: --fault: unknown fault 'no-such-fault'" in run.run_log
    written = {p.name for p in run.reports.iterdir()}
    assert not written & {"junit.xml", "rca.json", "rca.md", "rca.html"}, written
    assert not any((run.reports / "allure-results").glob("*-result.json"))
    assert processes_touching(run.reports) == []


def test_the_tenant_launcher_tells_bad_options_from_other_start_failures(tmp_path: Path) -> None:
    with pytest.raises(local_tenant.TenantStartError) as refused:
        local_tenant.start(("no-such-fault",), None, tmp_path / "a.log", tmp_path / "a", timeout=30)
    assert refused.value.bad_options and refused.value.returncode == 2
    assert refused.value.last_line.startswith("molecule-local-tenant: unknown fault 'no-such-fault'")

    with pytest.raises(local_tenant.TenantStartError) as crashed:   # a later --state-dir wins: it cannot be created
        local_tenant.start((), None, tmp_path / "b.log", tmp_path / "b", timeout=30,
                           extra=("--state-dir", "/dev/null/x"))
    assert not crashed.value.bad_options and crashed.value.returncode == 1
    assert "cannot start" in crashed.value.last_line
