"""Labels-driven acceptance over the dev corpus, through the real CLI (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.model import HYPOTHESES
from tests.forensics.contract import check_evidence

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
VARIANTS = ROOT / "fixtures" / "logs" / "variants"
LABELS = json.loads((CORPUS / "labels.json").read_text())["cases"]
VARIANT_LABELS = json.loads((VARIANTS / "labels.json").read_text())["cases"]
SUITE = ROOT / "fixtures" / "logs" / "suite"
SUITE_LABELS = json.loads((SUITE / "labels.json").read_text())["cases"]


def run_cli(*args: str, cwd: Path = ROOT, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forensics", *args],
        cwd=cwd, capture_output=True, input=stdin, timeout=120,
    )


def assert_verdict(analysis: dict, case: dict) -> None:
    verdicts = {h: v["verdict"] for h, v in analysis["hypotheses"].items()}
    assert set(verdicts) == set(HYPOTHESES)
    assert analysis["schema"] == "rca/v1"
    assert analysis["outcome"] == case["outcome"]
    assert analysis["primary"] == case["primary"]
    if case["failed_step"] is not None or case["outcome"] == "passed":
        assert analysis["failed_step"] == case["failed_step"]
    for h in case["must_rule_out"]:
        assert verdicts[h] == "ruled-out", (h, analysis["hypotheses"][h]["why"])
    for h in case["must_support"]:
        assert verdicts[h] in ("pinned", "supported"), (h, analysis["hypotheses"][h]["why"])
    for h in case["must_not_pin"]:
        assert verdicts[h] != "pinned", h
    pinned = [h for h, v in verdicts.items() if v == "pinned"]
    if analysis["primary"] in HYPOTHESES:
        assert pinned == [analysis["primary"]]
    else:
        assert pinned == []
    for h, v in analysis["hypotheses"].items():
        assert v["why"].strip(), h


CASES = [(CORPUS, c) for c in LABELS] + [(VARIANTS, c) for c in VARIANT_LABELS] + [(SUITE, c) for c in SUITE_LABELS]


def check_labelled_case(base: Path, case: dict) -> dict | None:
    """Run one labelled case through the real CLI and check it against its label and the evidence
    contract: exit code, no traceback, secrets absent, verdict fields, every evidence line real, a pin
    shows its lines, a decided run has events. Returns the analysis (None for an unreadable input)."""
    files = [str(Path(base.name) / f) for f in case["files"]]
    proc = run_cli("analyze", *files, "--format", "json", cwd=base.parent)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()[-2000:]
    assert proc.returncode == case["expect_exit"], proc.stderr.decode()
    if case["expect_exit"] != 0:
        assert len(proc.stderr.decode().strip().splitlines()) == 1
        return None
    out = proc.stdout.decode()
    for secret in case.get("secrets", []):
        assert secret not in out
    analysis = json.loads(out)
    assert_verdict(analysis, case)
    assert check_evidence(analysis, files, base=base.parent) == []
    if analysis["primary"] in HYPOTHESES:
        assert analysis["hypotheses"][analysis["primary"]]["evidence"], "a pinned hypothesis shows its lines"
    if case["outcome"] != "inconclusive":
        assert analysis["timeline"], "a failed or passed run has events"
    return analysis


@pytest.mark.parametrize(("base", "case"), CASES, ids=[c["id"] for _, c in CASES])
def test_labelled_case(base: Path, case: dict) -> None:
    """Dev corpus (copied from ../shared), our own variants (other formats, ids, wording) and
    this suite's own logs for each local-tenant fault (the evidence loop)."""
    check_labelled_case(base, case)
