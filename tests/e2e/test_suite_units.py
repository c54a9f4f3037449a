"""Pure parts of the boot suite: options, agent-text checks, PNG, waits, run log, ledger."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from e2e import ledger
from e2e.a2a import check_known_answer, check_pong, extract_text
from e2e.options import Pace, UsageError, make_slug, resolve_settings, resolve_target, tenant_url_for
from e2e.runlog import RunLog
from e2e.steps import make_png
from e2e.waits import Pending, Stop, Waiter, WaitTimeout
from forensics.redact import Redactor


@pytest.mark.parametrize("cp,env,want", [
    ("https://staging-api.moleculesai.app", {}, "https://s1.staging.moleculesai.app"),
    ("https://api.moleculesai.app/x", {}, "https://s1.moleculesai.app"),
    ("http://cp.internal:8080", {}, "https://s1.cp.internal:8080"),
    ("https://api.moleculesai.app", {"MOLECULE_TENANT_DOMAIN": "t.example"}, "https://s1.t.example"),
])
def test_tenant_url_rule(cp: str, env: dict, want: str) -> None:
    assert tenant_url_for(cp, "s1", env) == want


def test_slugs_fit_32_chars_and_differ_per_runtime() -> None:
    slugs = {make_slug(r, "averyveryverylongrunid", "20260615", "deadbeef") for r in ("claude-code", "hermes")}
    assert len(slugs) == 2
    for slug in slugs:
        assert len(slug) <= 32 and slug.startswith("e2e-20260615-") and slug.endswith("-deadbeef")


def test_target_resolution() -> None:
    assert resolve_target({}).kind == "local"
    fresh = resolve_target({"cp_url": "https://cp/", "admin_token": "tok"})
    assert (fresh.kind, fresh.cp_url) == ("fresh-org", "https://cp")
    existing = resolve_target({"tenant_url": "https://t", "org_id": "o", "tenant_token": "k"})
    assert existing.kind == "existing"
    for bad in ({"cp_url": "https://cp"}, {"tenant_url": "https://t"}, {"workspace_id": "w"},
                {"check_mode": "sometimes"}, {"cp_url": "https://cp", "admin_token": "t", "faults": ["llm-401"]}):
        with pytest.raises(UsageError):
            resolve_target(bad)


def test_budgets_are_small_locally_and_harness_sized_remotely() -> None:
    local = resolve_settings({}, run_id="r")
    remote = resolve_settings({"cp_url": "https://staging-api.moleculesai.app", "admin_token": "t",
                               "workspace_online": 99.0}, run_id="r")
    assert local.pace == Pace.local() and local.budgets.workspace_online < 120
    assert remote.pace == Pace.remote() and remote.budgets.tenant_provision == 900 and remote.budgets.workspace_online == 99
    assert remote.runtimes == ("claude-code",)


def reply(text: str) -> dict:
    return {"jsonrpc": "2.0", "id": "x", "result": {"kind": "message", "parts": [{"kind": "text", "text": text}]}}


@pytest.mark.parametrize("text,ok,needle", [
    ("PONG", True, 'A2A parent round-trip succeeded: "PONG"'),
    ("[hermes-agent error 401] Error code: 401", False, "hermes gateway auth broken"),
    ("Error: Invalid API key provided", False, "tenant auth chain returned 'Invalid API key'"),
    ("You exceeded your current quota", False, "PROVIDER QUOTA EXHAUSTED"),
    ("model_not_found: kimi", False, "model slug passed through with provider prefix"),
    ("Agent error (_ResultError) — see logs", False, "STAGING LLM/BACKEND/RUNTIME FAILURE"),
    ("some Exception happened", False, "A2A returned an error-shaped response"),
    ("PING", False, "didn't contain expected PONG token"),
    ("", False, "A2A returned no text"),
])
def test_pong_checks(text: str, ok: bool, needle: str) -> None:
    verdict = check_pong(reply(text), "m/x")
    assert verdict.ok is ok and needle in verdict.line


def test_known_answer_gate() -> None:
    assert check_known_answer(reply("PINEAPPLE"), "hermes", "m").ok
    assert "ERROR-AS-TEXT payload (matched 'MISSING_BYOK_CREDENTIAL')" in check_known_answer(
        reply("MISSING_BYOK_CREDENTIAL PINEAPPLE"), "hermes", "m").line
    assert "did NOT contain expected known-answer token" in check_known_answer(reply("BANANA"), "hermes", "m").line


def test_text_is_found_in_every_documented_place() -> None:
    assert extract_text({"result": {"status": {"message": {"parts": [{"type": "text", "text": "A"}]}}}}) == "A"
    assert extract_text({"result": {"artifacts": [{"parts": [{"kind": "text", "text": "B"}]}]}}) == "B"
    assert extract_text({"error": {"code": 1}}) == ""


def test_png_is_a_real_png() -> None:
    png = make_png(4, 3, seed=b"seed")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + data)
        chunks[kind] = data
        pos += 12 + length
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (4, 3)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 3 * (1 + 4 * 3)
    assert make_png(seed=b"a") != make_png(seed=b"b")


def make_log(tmp_path: Path, secret: str = "s3cr3t-token-value") -> RunLog:
    log = RunLog(tmp_path, Redactor([secret]), echo=None)
    log.start(datetime(2026, 6, 15, 8, 30, tzinfo=timezone.utc), "r1", "local")
    return log


def test_waiter_stops_at_once_on_deterministic_errors(tmp_path: Path) -> None:
    sleeps: list[float] = []
    waiter = Waiter(Pace.local(), make_log(tmp_path), sleeps.append)
    calls = {"n": 0}

    def deterministic() -> None:
        calls["n"] += 1
        raise Stop("401")

    with pytest.raises(Stop):
        waiter.until(deterministic, 5, "x")
    assert calls["n"] == 1 and sleeps == []

    def eventually() -> str:
        calls["n"] += 1
        if calls["n"] < 6:
            raise Pending(f"n={calls['n']}")
        return "done"

    assert waiter.until(eventually, 5, "x") == "done"
    assert len(sleeps) == 4 and max(sleeps) <= Pace.local().poll_cap + Pace.local().poll_base

    with pytest.raises(WaitTimeout) as info:
        Waiter(Pace.local(), make_log(tmp_path)).until(lambda: (_ for _ in ()).throw(Pending("still provisioning")),
                                                       0.2, "x")
    assert info.value.state == "still provisioning"


def test_run_log_is_dated_redacted_and_structured(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    log.step = "pong"
    log.ok("token s3cr3t-token-value and Authorization: Bearer abcdef123456")
    log.fail("boom")
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert lines[0].startswith("2026-06-15T08:30:00")
    assert "s3cr3t" not in lines[1] and "abcdef123456" not in lines[1] and lines[1].startswith("[")
    assert "✅" in lines[1] and "❌ boom" in lines[2]
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events] == ["header", "ok", "fail"] and events[1]["step"] == "pong"


def test_ledger_outstanding_lists_created_not_deleted(tmp_path: Path) -> None:
    ledger.reset(tmp_path)
    org, ws, kept = (ledger.Resource("org", "e2e-a", "r"), ledger.Resource("workspace", "w1", "r"),
                     ledger.Resource("org", "e2e-b", "r"))
    for res in (org, ws, kept):
        ledger.record(tmp_path, "created", res)
    ledger.record(tmp_path, "deleted", ws)
    ledger.record(tmp_path, "kept", kept)
    assert [r.ident for r in ledger.outstanding(ledger.read(tmp_path))] == ["e2e-a"]


def test_ledger_a_verified_leak_is_settled_not_outstanding(tmp_path: Path) -> None:
    """The teardown already deleted and checked a leaked resource: it is reported (exit 4), not retried."""
    ledger.reset(tmp_path)
    org = ledger.Resource("org", "e2e-leaky", "r")
    ledger.record(tmp_path, "created", org)
    ledger.record(tmp_path, "leak", org, message="LEAK: org e2e-leaky still present post-teardown after 1s (count=1)")
    entries = ledger.read(tmp_path)
    assert ledger.outstanding(entries) == []
    assert [e["ident"] for e in ledger.leaks(entries)] == ["e2e-leaky"]


def test_a_failure_after_another_runtimes_teardown_repeats_its_own_step_marker(tmp_path: Path) -> None:
    """Parallel runtimes share run.log: when the other runtime's teardown broom line was written after
    this runtime's step marker, the failing runtime's marker is repeated, so forensics (which dates a
    failure by the last step start) names the failing step, not teardown."""
    from forensics.analyze import analyze

    base = make_log(tmp_path)
    hermes, claude = base.bind("hermes"), base.bind("claude-code")
    hermes.log("8/11 Sending A2A message to parent — expecting agent response...")
    claude.log("🧹 Tearing down workspace 0f6b2c1d-8e3a-4b7f-9c5d-2a1e6f4b8c30...")
    hermes.fail("A2A — REGRESSION: hermes gateway auth broken. Raw: [hermes-agent error 401] "
                "Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}")
    lines = (tmp_path / "run.log").read_text(encoding="utf-8").splitlines()
    assert "8/11 Sending A2A message" in lines[-2] and "❌" in lines[-1]
    analysis = analyze([str(tmp_path / "run.log")])
    assert (analysis.primary, analysis.failed_step) == ("llm-401", "pong")
