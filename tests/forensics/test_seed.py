"""The seed incident (job 506813) rebuilt as a runner log: the verdict the seed RCA reached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from forensics.analyze import analyze
from forensics.model import Outcome, Verdict
from tests.forensics.contract import check_evidence

ROOT = Path(__file__).resolve().parents[2]
SEED = "fixtures/logs/seed-506813/runner.log"


def test_seed_verdicts_match_the_seed_rca() -> None:
    a = analyze([str(ROOT / SEED)])
    v = {h: x.verdict for h, x in a.hypotheses.items()}
    assert a.outcome is Outcome.FAILED
    assert a.primary == "destructive-restart"
    assert a.failed_step == "known-answer"
    assert v == {
        "llm-401": Verdict.RULED_OUT,
        "cold-boot-crash": Verdict.RULED_OUT,
        "cpu-exhaustion": Verdict.NOT_EVIDENCED,
        "destructive-restart": Verdict.PINNED,
        "deploy-lag": Verdict.NOT_EVIDENCED,
    }
    assert a.signature == "destructive-restart@known-answer"
    assert a.context["job_id"] == "506813"
    assert a.context["model"] == "moonshot/kimi-k2.6"
    assert a.context["workspace_ids"] == ["0f6b2c1d-8e3a-4b7f-9c5d-2a1e6f4b8c30"]


def test_seed_sentences_read_like_the_seed() -> None:
    a = analyze([str(ROOT / SEED)])
    assert a.hypotheses["cold-boot-crash"].why.startswith("EXONERATED: PONG + terminal + image RT + config-PUT all succeeded")
    assert "no OOM/CPU lines" in a.hypotheses["cpu-exhaustion"].why
    assert "NOT LLM-401" in a.hypotheses["llm-401"].why
    assert a.headline.startswith("Root cause PINNED to destructive-restart")
    assert "self-triggers a container restart" in a.mechanism
    assert a.lever and "N consecutive failures" in a.lever
    pinned = a.hypotheses["destructive-restart"].evidence
    assert any("container restart triggered" in e.text for e in pinned)
    assert any("workspace has no URL" in e.text for e in pinned)
    # The step name "Platform-managed LLM path" of a CI step is not evidence; the lines under it are.
    llm_lines = [e.text for e in a.hypotheses["llm-401"].evidence]
    assert "Platform-managed path: no tenant LLM key required ✓" in llm_lines
    assert not any(t.startswith("⭐") or "Success - " in t for t in llm_lines)


def test_seed_through_cli_json_and_evidence_contract() -> None:
    proc = subprocess.run([sys.executable, "-m", "forensics", "analyze", SEED, "--format", "json"],
                          cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["primary"] == "destructive-restart"
    assert check_evidence(data, [SEED], base=ROOT) == []
    times = [e["ts"] for e in data["timeline"]]
    assert all(t is None or t.startswith("2026-06-15T") for t in times)
    assert [t for t in times if t] == sorted(t for t in times if t)
