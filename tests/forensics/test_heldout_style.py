"""Held-out-style acceptance: logs nobody tuned the engine on, through the real CLI.

``fixtures/logs/heldout-style/`` holds labelled logs built from the platform's line catalogue
(platform-api.md §12-13: [S] and [J] harness wording, workspace-server Go/Gin and JSON-lines
lines, deploy lines) in every runner format (Gitea, GitHub raw with BOM/CRLF/ANSI, plain harness
output, pytest, this suite's run.log, .gz), other ids, slugs and times than the dev corpus.
``build.py`` there regenerates them. Bad inputs too big or too odd to keep in the tree (a 30 MB
line, random binary, a directory, a missing path, CRLF+ANSI and .gz re-encodings) are made here.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest

from forensics.model import HYPOTHESES
from tests.forensics.contract import check_evidence
from tests.forensics.test_corpus import ROOT, check_labelled_case, run_cli

BASE = ROOT / "fixtures" / "logs" / "heldout-style"
CASES = json.loads((BASE / "labels.json").read_text())["cases"]
SECRET_CASES = [c for c in CASES if c.get("secrets")]


def analyze(files: list[str], fmt: str = "json", cwd: Path = BASE.parent, stdin: bytes | None = None):
    proc = run_cli("analyze", *files, "--format", fmt, cwd=cwd, stdin=stdin)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()[-2000:]
    return proc


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_heldout_style_case(case: dict) -> None:
    """Outcome, primary, failed step, rule-outs, support, exactly one pin iff primary is one of
    the five, evidence lines real, secrets absent."""
    check_labelled_case(BASE, case)


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("case", SECRET_CASES, ids=[c["id"] for c in SECRET_CASES])
def test_secrets_never_rendered(case: dict, fmt: str) -> None:
    files = [str(Path(BASE.name) / f) for f in case["files"]]
    proc = analyze(files, fmt)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert out.strip()
    for secret in case["secrets"]:
        assert secret not in out


def _one_json(tmp: Path, name: str, data: bytes) -> tuple[dict, Path]:
    path = tmp / name
    path.write_bytes(data)
    proc = analyze([name], cwd=tmp)
    assert proc.returncode == 0, proc.stderr.decode()
    analysis = json.loads(proc.stdout)
    assert check_evidence(analysis, [name], base=tmp) == []
    return analysis, path


def test_random_binary_is_inconclusive(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(300_000)
    analysis, _ = _one_json(tmp_path, "artifact.bin", data)
    assert analysis["outcome"] == "inconclusive"
    assert analysis["primary"] == "unknown"
    assert not [h for h, v in analysis["hypotheses"].items() if v["verdict"] == "pinned"]


def test_one_30mb_line_then_a_failure(tmp_path: Path) -> None:
    """A 30 MB line (with a key buried in it) does not hide the lines after it; no secret leaks."""
    key = b"sk-ant-api03-QWERTYUIOPasdfghjkl0987654321"
    huge = b"2026-09-03T01:00:00.0000000Z " + b"0123456789abcdef" * (30_000_000 // 16) + b" " + key + b"\n"
    tail = (
        "2026-09-03T01:00:01.0000000Z [01:00:01] 8/11 Sending A2A message to parent — expecting agent response...\n"
        "2026-09-03T01:00:09.0000000Z [01:00:09] ❌ A2A returned an error-shaped response: "
        "[hermes-agent error 401] {\"error\":{\"message\":\"Invalid API key\",\"code\":401}}\n"
    ).encode()
    analysis, _ = _one_json(tmp_path, "huge.log", huge + tail)
    assert analysis["outcome"] == "failed"
    assert analysis["primary"] == "llm-401"
    assert analysis["failed_step"] == "pong"
    assert key.decode() not in json.dumps(analysis)


def test_crlf_ansi_and_gzip_reencodings_agree(tmp_path: Path) -> None:
    """The same log as LF, CRLF+ANSI and .gz of latin-1-damaged CRLF gives the same verdict."""
    case = next(c for c in CASES if c["id"] == "cold-boot-traceback")
    original = (BASE / case["files"][0]).read_bytes()
    crlf_ansi = re.sub(rb"(\[\d\d:\d\d:\d\d\] )(\xe2\x9d\x8c|\xe2\x9c\x85)", b"\x1b[1;31m\\1\\2\x1b[0m", original)
    crlf_ansi = crlf_ansi.replace(b"\n", b"\r\n")
    damaged = crlf_ansi.replace(b"Tearing down", b"D\xe9montage / Tearing down")  # latin-1 bytes
    verdicts = []
    for name, data in [("lf.log", original), ("crlf-ansi.log", crlf_ansi), ("damaged.log.gz", gzip.compress(damaged))]:
        analysis, _ = _one_json(tmp_path, name, data)
        verdicts.append((analysis["outcome"], analysis["primary"], analysis["failed_step"]))
        for e in analysis["timeline"]:
            assert "\x1b" not in e["text"] and not e["text"].endswith("\r")
    assert verdicts == [("failed", "cold-boot-crash", "provision")] * 3


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_unreadable_input_is_one_line_exit_2(tmp_path: Path, kind: str) -> None:
    (tmp_path / "ok.log").write_text("[10:00:00] ✅ CP reachable\n")
    target = tmp_path / "job-logs"
    if kind == "directory":
        target.mkdir()
    proc = analyze(["ok.log", "job-logs"], cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "job-logs" in lines[0]
    assert proc.stdout == b""


def test_stdin_with_platform_file(tmp_path: Path) -> None:
    """``-`` (the runner log piped in) beside a platform log still finds the restart."""
    case = next(c for c in CASES if c["id"] == "restart-platform-only")
    runner, platform = (BASE / f for f in case["files"])
    proc = analyze(["-", str(platform)], stdin=runner.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    analysis = json.loads(proc.stdout)
    assert analysis["primary"] == "destructive-restart"
    assert {e["source"] for e in analysis["hypotheses"]["destructive-restart"]["evidence"]} >= {str(platform)}


# ── one-line wording variants (catalogue wording the fixtures above do not use) ─────────────────
# Each: harness lines wrapped in a Gitea log -> (outcome, primary, failed_step or None = not checked).
W = "1a2b3c4d-0000-4000-8000-123456789abc"
J7 = "{t} 7/11 Waiting for workspace(s) to reach status=online (up to 60 min — hermes cold boot)..."
J8 = "{t} 8/11 Sending A2A message to parent — expecting agent response..."
PONG_OK = '{t} ✅ A2A parent round-trip succeeded: "PONG"'
PF = "{t} 0/11 Preflight: deployed build (/buildinfo on https://x.staging.moleculesai.app)..."
VARIANTS = {
    "llm-401-on-provider-url": ([J8, "{t} ❌ A2A returned an error-shaped response: 401 Client Error: Unauthorized for url: https://openrouter.ai/api/v1/chat/completions"], ("failed", "llm-401", "pong")),
    "llm-sdk-auth-error-as-text": ([PONG_OK, "{t} 8b. Known-answer probe...", "{t} ❌ A2A known-answer (parent, claude-code/moonshot/kimi-k2.6) — real-completion gate: agent returned an ERROR-AS-TEXT payload (matched 'Agent error'). Raw: Agent error (AuthenticationError) — see workspace logs for details."], ("failed", "llm-401", "known-answer")),
    "llm-out-of-credit-429": ([J8, "{t} ❌ A2A returned an error-shaped response: [hermes-agent error 429] Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day"], ("failed", "llm-401", "pong")),
    "boot-err-no-provider-key": ([J7, f"{{t}} ❌ Workspace {W} never reached online within 20 min (last status=failed, err=No provider API key found for anthropic)"], ("failed", "cold-boot-crash", "provision")),
    "boot-err-importerror": ([J7, f"{{t}} ❌ Workspace {W} never reached online within 20 min (last status=provisioning, err=ImportError: cannot import name 'AgentExecutor')"], ("failed", "cold-boot-crash", "provision")),
    "boot-sweep-timeout-is-not-a-crash": ([J7, f"{{t}} ❌ Workspace {W} never reached online within 20 min (last status=failed, err=provisioning timed out — container started but never called /registry/register. Check container logs and network connectivity to the platform.)"], ("failed", "unknown", "provision")),
    "cpu-load-12-and-timeout": (["{t} 7a/11 Real image upload/download round-trip...", "  load average: 12.40, 11.80, 10.02", f"{{t}} ❌ Workspace {W} image upload returned 000: curl: (28) Operation timed out after 30000 milliseconds"], ("failed", "cpu-exhaustion", "image-roundtrip")),
    "cpu-load-7-is-not-enough": (["{t} 7a/11 Real image upload/download round-trip...", "  load average: 7.40, 6.80, 6.02", f"{{t}} ❌ Workspace {W} image upload returned 000: curl: (28) Operation timed out after 30000 milliseconds"], ("failed", "unknown", "image-roundtrip")),
    "restart-preflight-body": ([PONG_OK, "{t} 8b. Known-answer probe...", '    A2A known-answer A2A agent-origin 503 attempt 1/12: {"error":"workspace container not running — restart triggered","restarting":true,"preflight":true}', "{t} ❌ A2A known-answer failed after 2 attempt(s) (curl_rc=22, http=503): proxy a2a error"], ("failed", "destructive-restart", "known-answer")),
    "deploy-sha-expected-sha": ([PF, "{t} ❌ tenant is on a962ea05, expected ccdd20d2 — redeploy staging first"], ("failed", "deploy-lag", "preflight")),
    "deploy-equal-shas-are-not-lag": ([PF, "{t}     sha ccdd20d2 == expected ccdd20d2", "{t} ❌ CP health check failed"], ("failed", "unknown", "preflight")),
    "deploy-wait-then-caught-up": (["e2e-pin: waiting for target SHA (have '3f2a9d1', want c81e728; 270s left)", "e2e-pin: c81e728", "🏁  Job succeeded"], ("passed", None, None)),
    "leak-detected-after-pass": ([PONG_OK, "{t} ✅ ═══ STAGING canary-SAAS E2E PASSED ═══", "::error::LEAK DETECTED (rc=4) — teardown failed to clean up the org. Safety net broken."], ("failed", "unknown", "teardown")),
    "pr-mode-self-check": (["{t} PR-mode: E2E_REQUIRE_LIVE=0 and no MOLECULE_ADMIN_TOKEN — skipping live staging boot.", "  ✅  Success - Main Run staging platform boot", "🏁  Job succeeded"], ("inconclusive", "unknown", None)),
    "gitea-workflow-group-named-run": (["::group::Run staging platform boot (harness output)", J8, "{t} ❌ A2A returned an error-shaped response: [hermes-agent error 401] nope", "::endgroup::", "🏁  Job failed"], ("failed", "llm-401", "pong")),
    "github-group-named-run-around-harness": (["##[group]Run staging platform boot (harness output)", J8, "{t} ❌ A2A returned an error-shaped response: [hermes-agent error 401] nope", "##[endgroup]", "##[error]Process completed with exit code 1."], ("failed", "llm-401", "pong")),
    "require-live-missing-a2a": ([J8, "{t} ❌ E2E_REQUIRE_LIVE=1 but the run did NOT prove a full live lifecycle — missing milestone(s): a2a_roundtrip. Reached: provisioned tenant_online workspace_online."], ("failed", "unknown", "pong")),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_wording_variant(tmp_path: Path, name: str) -> None:
    from datetime import datetime, timedelta

    from forensics.analyze import analyze as analyze_paths

    lines, (outcome, primary, step) = VARIANTS[name]
    t = datetime(2026, 9, 1, 10, 0, 0)
    rows = []
    for text in ["⭐ Run Main Run staging platform boot", *lines]:
        t += timedelta(seconds=7)
        rows.append(t.strftime("%Y-%m-%dT%H:%M:%S") + ".5550001Z " + text.replace("{t}", t.strftime("[%H:%M:%S]")))
    path = tmp_path / f"{name}.log"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    a = analyze_paths([str(path)])
    verdicts = {h: x.verdict.value for h, x in a.hypotheses.items()}
    assert (a.outcome.value, a.primary) == (outcome, primary), verdicts
    if step is not None:
        assert a.failed_step == step
    assert [h for h, v in verdicts.items() if v == "pinned"] == ([primary] if primary in HYPOTHESES else [])
