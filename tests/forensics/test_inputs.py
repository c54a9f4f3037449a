"""Bad and unusual inputs: arbitrary bytes, huge lines, mixed encodings, CRLF+ANSI, gz, zip, stdin."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.analyze import analyze
from forensics.model import HYPOTHESES, Outcome
from forensics.sources import LINE_CAP, iter_lines, open_sources
from tests.forensics.contract import check_evidence

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "logs" / "seed-506813" / "runner.log"
FRAGMENTS = [
    b"[08:33:46] \xe2\x9c\x85 A2A parent round-trip succeeded: \"PONG\"\n",
    b"[08:34:16] \xe2\x9d\x8c known-answer failed: workspace has no URL\n",
    b"2026-06-15T08:33:46.1234567Z ",
    b"\x1b[31m", b"\x1b[0m", b"\r\n", b"\n", b"\xff\xfe", b"\xe9t\xe9", b"\x00",
    b"container restart triggered", b"Authorization: Bearer abcdefghijkl123\n",
    b"{\"ts\": 1718440426, \"msg\": \"oom-kill\"}\n", b"2026/06/15 08:33:46 ProxyA2A forward error: EOF\n",
]


def _check_analysis(a, paths: list[str]) -> None:
    data = a.to_dict()
    json.dumps(data)
    assert set(data["hypotheses"]) == set(HYPOTHESES)
    pinned = [h for h, v in data["hypotheses"].items() if v["verdict"] == "pinned"]
    assert pinned == ([data["primary"]] if data["primary"] in HYPOTHESES else [])
    assert (data["primary"] is None) == (data["outcome"] == "passed")
    assert check_evidence(data, paths) == []
    assert "abcdefghijkl123" not in json.dumps(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=64)), max_size=30))
def test_arbitrary_bytes_never_raise(tmp_path: Path, chunks: list[bytes]) -> None:
    path = tmp_path / "input.log"
    path.write_bytes(b"".join(chunks))
    _check_analysis(analyze([str(path)]), [str(path)])


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_line_numbering_matches_the_contract(data: bytes, chunk: int) -> None:
    import io

    class Trickle(io.RawIOBase):  # small reads exercise every chunk boundary
        def __init__(self) -> None:
            self.buf = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self.buf.read(min(chunk, size if size > 0 else chunk))

    got = list(iter_lines(Trickle()))
    want = data.decode("utf-8", errors="replace").split("\n")
    if want and want[-1] == "":
        want.pop()
    assert [n for n, _ in got] == list(range(1, len(want) + 1))
    for (_, text), expected in zip(got, want):
        expected = expected[:-1] if expected.endswith("\r") else expected
        if len(expected.encode()) <= LINE_CAP:
            assert text.lstrip("\ufeff") == expected.lstrip("\ufeff") or "\ufffd" in text


def test_huge_single_line_is_capped_and_numbering_stays_exact(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with open(path, "wb") as fh:
        fh.write(b"2026-06-15T08:00:00.0000000Z start\n")
        block = b"x" * (1 << 20)
        for _ in range(20):       # one 20 MiB line
            fh.write(block)
        fh.write(b" container restart triggered\n")   # beyond the cap: not seen, by design
        fh.write(b"2026-06-15T08:00:02.0000000Z [08:00:02] \xe2\x9d\x8c known-answer failed: workspace has no URL\n")
    lines = list(next(iter(open_sources(str(path)))).lines())
    assert [n for n, _ in lines] == [1, 2, 3]
    assert len(lines[1][1]) == LINE_CAP
    a = analyze([str(path)])
    assert a.outcome is Outcome.FAILED
    assert any(e.line == 3 for e in a.timeline)
    _check_analysis(a, [str(path)])


def test_latin1_crlf_ansi_bom_and_gz(tmp_path: Path) -> None:
    body = (
        "\ufeff2026-06-15T08:33:46.0000000Z [08:33:46] \x1b[32m✅\x1b[0m A2A parent round-trip succeeded: \"PONG\"\r\n"
    ).encode() + b"2026-06-15T08:33:47.0000000Z caf\xe9 na\xefve latin-1 bytes\r\n" + (
        "2026-06-15T08:34:16.0000000Z [08:34:16] \x1b[31m❌\x1b[0m A2A known-answer failed: {\"error\":\"workspace has no URL\"}\r\n"
    ).encode()
    plain = tmp_path / "crlf.log"
    plain.write_bytes(body)
    packed = tmp_path / "crlf.log.gz"
    packed.write_bytes(gzip.compress(body))
    for path in (plain, packed):
        a = analyze([str(path)])
        assert a.outcome is Outcome.FAILED and a.failed_step == "known-answer"
        assert all("\x1b" not in e.text and not e.text.endswith("\r") for e in a.timeline)
        assert a.timeline[0].ts is not None
        _check_analysis(a, [str(path)])


def test_corrupt_gz_and_fake_zip_are_read_not_fatal(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.log.gz"
    truncated.write_bytes(gzip.compress(SEED.read_bytes())[:400])
    a = analyze([str(truncated)])
    assert any("ended early" in n for n in a.notes)
    fake = tmp_path / "notzip.zip"
    fake.write_bytes(b"PK\x03\x04 not really a zip\n")
    analyze([str(fake)])


def test_gitea_run_logs_zip_one_source_per_job(tmp_path: Path) -> None:
    archive = tmp_path / "run-369624-logs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("e2e-staging-platform-boot.log", SEED.read_bytes())
        zf.writestr("lint.log", b"2026-06-15T08:00:00.0000000Z all good\n")
    a = analyze([str(archive)])
    assert a.sources == [f"{archive}::e2e-staging-platform-boot.log", f"{archive}::lint.log"]
    assert a.primary == "destructive-restart"
    assert {e.source for e in a.hypotheses["destructive-restart"].evidence} == {f"{archive}::e2e-staging-platform-boot.log"}


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\xff" * 100, b"just some words\nnothing known\n"])
def test_empty_binary_unrecognised_are_inconclusive(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(content)
    a = analyze([str(path)])
    assert a.outcome is Outcome.INCONCLUSIVE and a.primary == "unknown" and a.failed_step is None
    assert a.signature == "inconclusive"


def test_stdin_is_a_source() -> None:
    proc = subprocess.run([sys.executable, "-m", "forensics", "analyze", "-", "--format", "json"],
                          input=SEED.read_bytes(), capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["primary"] == "destructive-restart"
    assert {e["source"] for e in data["timeline"]} == {"-"}


def test_json_lines_and_go_log_get_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_text(
        '{"time": "2026-06-15T08:33:40Z", "level": "error", "msg": "Memory cgroup out of memory: Killed process 77"}\n'
        "2026/06/15 08:33:46 ProxyA2A: container for ws-1 is dead — marking offline and triggering restart\n"
        '{"ts": 1781512500.5, "msg": "plain"}\n'
    )
    a = analyze([str(path)])
    stamps = {e.line: e.ts for e in a.timeline}
    assert stamps[1].isoformat() == "2026-06-15T08:33:40"
    assert stamps[2].isoformat() == "2026-06-15T08:33:46"
    assert a.hypotheses["cpu-exhaustion"].evidence and a.hypotheses["destructive-restart"].evidence


SECRETS = [
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "sk-proj-AbCdEfGhIjKlMnOpQrStUv",
    "ghp_abcdefabcdefabcdefabcdef0123",
    "AKIAIOSFODNN7EXAMPLE",
    "s3cr3t-admin-value-99",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "tok3n-in-query-0123",
]


def test_secrets_never_reach_any_format(tmp_path: Path) -> None:
    path = tmp_path / "leaky.log"
    path.write_text(
        "[10:00:00] 8/11 Sending A2A message to parent...\n"
        f"curl -H 'Authorization: Bearer {SECRETS[0]}' -H 'X-Molecule-Admin-Token: {SECRETS[4]}' https://t/a2a?token={SECRETS[6]}\n"
        f"[10:00:01] ❌ A2A — REGRESSION: tenant auth chain returned 'Invalid API key'. Raw: Incorrect API key provided: {SECRETS[1]}\n"
        f"env: GITHUB_TOKEN={SECRETS[2]} AWS_ACCESS_KEY_ID={SECRETS[3]} aws_secret_access_key = {SECRETS[5]}\n"
        "##[error]Process completed with exit code 1.\n"
    )
    a = analyze([str(path)])
    assert a.primary == "llm-401"
    from forensics.render import render

    for fmt in ("json", "md", "html"):
        out = render(a, fmt)
        for secret in SECRETS:
            assert secret not in out, (fmt, secret)
    _check_analysis(a, [str(path)])
