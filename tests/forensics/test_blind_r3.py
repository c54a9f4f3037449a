"""Blind robustness round 3: the input families the earlier rounds touched least.

``fixtures/logs/blind-r3/`` (regenerate with its ``build.py``) holds a workspace-server log alone
(Go lines with microseconds, crossing midnight; a healthy one; a JSON-per-line one with +02:00
offsets; one with benign error-level records), a platform log beside a deploy log, pytest output
of a Python E2E whose assertions carry the platform's bodies (and a CP 401 that is not the LLM's),
GitHub-format deploy logs (green, red, green-then-E2E-401), a Gitea run-logs zip with a green and
a red job, and the suite's own ``events.jsonl`` / ``run.log`` / tenant log for each local fault.
A 20 MB noisy Gitea log with the failure buried in the middle is generated here, not committed.
Every case runs through the real CLI and is checked against its label and the evidence contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.forensics.contract import ZIP_SEP, check_evidence, contract_lines
from tests.forensics.test_corpus import ROOT, check_labelled_case, run_cli

BASE = ROOT / "fixtures" / "logs" / "blind-r3"
CASES = json.loads((BASE / "labels.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_blind_r3_case(case: dict) -> None:
    """Verdict per label; evidence lines real (zip members as ``<zip>::<member>``); secrets absent."""
    check_labelled_case(BASE, case)


def _analyse(*files: str) -> dict:
    proc = run_cli("analyze", *files, "--format", "json", cwd=BASE.parent)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()[-2000:]
    return json.loads(proc.stdout)


def _ts_of(analysis: dict, source_suffix: str, line: int) -> str | None:
    for e in analysis["timeline"]:
        if e["source"].endswith(source_suffix) and e["line"] == line:
            return e["ts"]
    raise AssertionError(f"no timeline event at {source_suffix}:{line}")


def test_clock_edges() -> None:
    """Go lines with microseconds roll over midnight; a Gitea log's [HH:MM:SS] lines after midnight
    carry the next day; a JSON record's +02:00 offset becomes UTC; a zip member keeps its own
    line numbers."""
    plat = "blind-r3/platform-only-restart/workspace-server.log"
    a = _analyse(plat)
    lines = contract_lines(BASE.parent / plat)
    dead = next(i for i, t in enumerate(lines, 1) if "is dead" in t)
    assert _ts_of(a, "workspace-server.log", dead).startswith("2026-07-03T00:00:13.")
    runner = "blind-r3/midnight-cpu/runner-560310.log"
    a = _analyse(runner)
    fail = next(i for i, t in enumerate(contract_lines(BASE.parent / runner), 1) if "❌ Workspace" in t)
    assert _ts_of(a, "runner-560310.log", fail).startswith("2026-07-09T00:")
    js = "blind-r3/platform-json-coldboot/workspace-server.jsonl"
    a = _analyse(js)
    boot = next(i for i, t in enumerate(contract_lines(BASE.parent / js), 1) if "BootstrapFailed" in t)
    assert _ts_of(a, "workspace-server.jsonl", boot).startswith("2026-07-04T23:18:16.55")
    a = _analyse("blind-r3/runner-plus-iso-offset/runner.log", "blind-r3/runner-plus-iso-offset/platform.log")
    order = [(Path(e["source"]).name, e["line"]) for e in a["timeline"]]
    assert order.index(("platform.log", 2)) < order.index(("runner.log", 3)) < order.index(("runner.log", 4))
    assert _ts_of(a, "platform.log", 2).startswith("2026-07-15T10:00:05.124")
    a = _analyse("blind-r3/gitea-zip/run-551207-logs.zip")
    members = {e["source"].split(ZIP_SEP, 1)[1] for e in a["timeline"]}
    assert members == {"lint-540001.log", "e2e-staging-platform-boot-540002.log"}
    pinned = a["hypotheses"]["cold-boot-crash"]["evidence"]
    assert pinned and all(e["source"].endswith("::e2e-staging-platform-boot-540002.log") for e in pinned)


NOISE = (
    "  🐳  docker pull layer {n:06d}: Downloading [=====>      ] {n}kB/48MB\n",
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory; error handling is poor\n",
    "+ curl -sS --fail-with-body --max-time 30 -H 'Authorization: Bearer ***' https://staging-api/health\n",
    "    queue poll attempt {m}/30 status=in_progress — backing off 2s\n",
    "{{\"level\":\"debug\",\"msg\":\"heartbeat ok\",\"seq\":{n}}}\n",
)


def _big_log(path: Path, target: int = 20 * 1024 * 1024) -> tuple[int, int]:
    """A Gitea-format log of ~``target`` bytes: the harness boots and PONG passes, then the known
    answer hits a restart-triggered 503 and 'no URL' halfway through the noise. Returns the lines of
    the restart 503 and of the ❌ line."""
    def stamp(n: int) -> str:
        s = 10 + n // 2000
        return f"2026-07-12T11:{(s // 60) % 60:02d}:{s % 60:02d}.{n % 10_000_000:07d}Z "

    head = [
        "molecule-runner-04(version:v0.2.11) received task 571000 of job e2e-staging-platform-boot, be triggered by event: push",
        "Platform-managed path: no tenant LLM key required ✓",
        "[11:00:10] 0/11 Preflight: CP reachable?", "[11:00:10] ✅ CP reachable",
        "[11:00:11] ✅ Org created (id=9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b http=201 slug_len=31)",
        "[11:00:30] ✅ Tenant provisioning complete",
        "[11:00:31]     LLM path: PLATFORM-MANAGED (no tenant key; proxy + Fix A provider stamp)",
        "[11:00:32] 7/11 Waiting for workspace(s) to reach status=online (up to 60 min — hermes cold boot)...",
        "[11:01:40] ✅     3f9c1a7e-52d4-4b8e-9a61-0c7d2e4b9f10 online and routable",
        "[11:01:41] 7a/11 Real image upload/download round-trip...",
        "[11:01:43] ✅     3f9c1a7e-52d4-4b8e-9a61-0c7d2e4b9f10 image upload/download OK (image/png, sha256=00ff)",
        "[11:01:44] 7c/11 Files API config.yaml round-trip...",
        "[11:01:45] ✅     3f9c1a7e-52d4-4b8e-9a61-0c7d2e4b9f10 config.yaml PUT OK (HTTP 200)",
        "[11:01:46] 8/11 Sending A2A message to parent — expecting agent response...",
        "[11:01:50] ✅ A2A parent round-trip succeeded: \"PONG\"",
    ]
    middle = [
        "    A2A known-answer A2A agent-origin 503 attempt 1/12: {\"error\":\"workspace agent unreachable — container restart triggered\",\"restarting\":true}",
        "[11:02:21] ❌ A2A known-answer failed after 2 attempt(s) (curl_rc=22, http=503): {\"error\":\"workspace has no URL\",\"status\":\"offline\"}",
    ]
    tail = ["[11:02:22] 🧹 Tearing down org e2e-smoke-20260712-pla-0c1d2e3f...", "[11:03:00] ✅ Teardown request accepted",
            "  ❌  Failure - Main Run staging platform boot E2E", "🏁  Job failed"]
    n = 0
    written = 0
    marks: list[int] = []
    with open(path, "w", encoding="utf-8") as out:
        def emit(text: str) -> None:
            nonlocal n, written
            line = stamp(n) + text.rstrip("\n") + "\n"
            out.write(line)
            n += 1
            written += len(line.encode())

        for text in head:
            emit(text)
        while written < target // 2:
            emit(NOISE[n % len(NOISE)].format(n=n, m=1 + n % 30))
        for text in middle:
            emit(text)
            marks.append(n)
        while written < target:
            emit(NOISE[n % len(NOISE)].format(n=n, m=1 + n % 30))
        for text in tail:
            emit(text)
    return marks[0], marks[1]


def test_noisy_20mb_failure_in_the_middle(tmp_path: Path) -> None:
    """20 MB of pull progress, npm warnings, traced curls and poll lines around one restart: the
    verdict and the failed step come from the buried lines, with their real line numbers."""
    log = tmp_path / "e2e-571000.log"
    restart_line, fail_line = _big_log(log)
    assert log.stat().st_size >= 20 * 1024 * 1024
    proc = run_cli("analyze", str(log), "--format", "json")
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()[-2000:]
    a = json.loads(proc.stdout)
    assert (a["outcome"], a["primary"], a["failed_step"]) == ("failed", "destructive-restart", "known-answer")
    assert a["hypotheses"]["cold-boot-crash"]["verdict"] == "ruled-out"
    assert a["hypotheses"]["llm-401"]["verdict"] != "pinned"
    lines = {e["line"] for e in a["hypotheses"]["destructive-restart"]["evidence"]}
    assert {restart_line, fail_line} & lines, lines
    assert check_evidence(a, [str(log)]) == []
