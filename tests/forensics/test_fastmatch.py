"""forensics.fastmatch (issue 7): the block-scanning paths give exactly what the line-by-line path gives.

The reference is the engine's own path: ``events.extract`` over ``records.parse`` of every line.
Both fast engines (hyperscan, pure Python) must produce the same SourceEvents — events, context,
dropped counts, line count, notes — on the corpus, on the fixtures, on generated lines full of
the things that break naive scanners (ANSI inside signatures, CRLF, BOM, invalid UTF-8, Unicode
case folds, JSON records, Run groups, harness clocks without a date, very long lines), on block
and byte-range boundaries, and on gzip/zip inputs.
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import analyze, events, fastmatch, records, sources
from forensics.redact import Redactor

ROOT = Path(__file__).resolve().parents[2]
INPUTS = sorted(
    p for base in (ROOT / "tests" / "forensics" / "corpus", ROOT / "fixtures" / "logs")
    for p in base.rglob("*") if p.is_file() and p.suffix not in (".json", ".md", ".py", ".toml")
)
ENGINES = ["python"] + (["hyperscan"] if fastmatch.hyperscan is not None else [])


@pytest.fixture(scope="module")
def catalogue() -> events.Catalogue:
    return analyze.load_knowledge(use_env=False).catalogue


def summary(path: str, catalogue: events.Catalogue, engine: str) -> list[tuple]:
    """Everything events.extract returns for every source of ``path`` (plus source notes)."""
    out = []
    for src, result in fastmatch.extract_sources([path], catalogue, Redactor(), engine):
        out.append((src.name, result.lines, [e.to_dict() for e in result.events], result.context,
                    dict(result.dropped), result.harness_seen, list(src.notes), src.binary))
    return out


def assert_same(path: Path | str, catalogue: events.Catalogue) -> list[tuple]:
    reference = summary(str(path), catalogue, "lines")
    for engine in ENGINES:
        assert summary(str(path), catalogue, engine) == reference, f"{engine} differs on {path}"
    return reference


def test_inputs_found() -> None:
    assert len(INPUTS) >= 20


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_and_fixtures_identical(path: Path, catalogue: events.Catalogue) -> None:
    assert_same(path, catalogue)


def test_reference_path_really_finds_events(catalogue: events.Catalogue) -> None:
    seed = ROOT / "fixtures" / "logs" / "seed-506813" / "runner.log"
    reference = assert_same(seed, catalogue)
    sigs = {e["signature"] for e in reference[0][2]}
    assert {"restart-triggered-503", "restart-no-url-offline", "boot-pong-ok"} <= sigs


# ── generated lines ────────────────────────────────────────────────────────────────────────────

PIECES = [
    "✅ A2A parent round-trip succeeded: \"PONG\"", "A2A agent-origin 503", "container restart triggered",
    "{\"error\":\"workspace has no URL\",\"status\":\"offline\"}", "\"restarting\":true", "PLATFORM-MANAGED",
    "LLM path: TENANT", "[hermes-agent error 401] User not found.", "invalid api key", "INVALID API KEY",
    "ınvalıd apı key", "Kelvın", "ſtarv", "OOMKilled", "load average: 27.31, 20.1", "❌ Failure - ",
    "##[group]Run bash e2e.sh", "##[endgroup]", "::group::Run x", "::endgroup::", "+ curl -sS", "MODEL_SLUG=moonshot/kimi",
    "PARENT_ID=3f6c2a1e-8d4b", "E2E_RUN_ID: 42-1", "received task 7 of job e2e, be", "Slug:    e2e-x",
    "HTTP 500 ok=false total=3 healthy=0", "redeploy-fleet reported failure", "is stale: actual=abc1234, expected=def5678",
    "Process completed with exit code 1.", "panic: boom", "Traceback (most recent call last)", "→ online", "→ failed",
    "==== 3 failed, 2 passed in 1.2s ====", "FAILED tests/x.py::t", "status=401 api key", "curl: (28)",
    "\x1b[32m", "\x1b[0m", "\x1b]8;;http://x\x07", "\x1b[1;31m❌\x1b[0m", "\\\"", "\\u2014", " ", "\t", "\u00a0", "\u2003",
    "\ufffd", "é", "—", "🧹", "{", "}", "[", "]", ":", "=", "-", "0", "9", "5", "(", ")",
]
PREFIXES = ["", "2026-06-15T08:33:46.1234567Z ", "2026-13-45T08:33:46.1Z ", "[08:33:46] ", "2026/06/15 08:33:46 ",
            "[GIN] 2026/06/15 - 08:33:46 | 503 | ", "\ufeff", "  ", "{\"ts\":\"2026-06-15T08:33:46Z\",\"msg\":\""]
RAW_BYTES = [b"\xff", b"\xe2\x9c", b"\xc3", b"\x00", b"\r", b"\xe2\x84\xaa", b"\xc4\xb1"]

line_text = st.tuples(
    st.sampled_from(PREFIXES),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(min_size=0, max_size=6)), max_size=8),
).map(lambda t: t[0] + "".join(t[1]))
json_record = st.tuples(
    st.sampled_from(["", "  ", "\ufeff", "2026-13-45T08:33:46Z ", "2026-06-15T08:33:46.1Z "]),
    st.dictionaries(
        st.sampled_from(["msg", "message", "log", "ts", "level", "detail", "n", "ok", "x"]),
        st.one_of(line_text, st.integers(-5, 10**6), st.floats(allow_nan=False, width=32), st.booleans(), st.none()),
        max_size=4,
    ),
).map(lambda t: t[0] + json.dumps(t[1], ensure_ascii=False))
line_bytes = st.one_of(
    json_record.map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass")),
    line_text.map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass")),
    st.tuples(line_text, st.sampled_from(RAW_BYTES), line_text).map(
        lambda t: (t[0].replace("\n", " ").encode("utf-8", "surrogatepass") + t[1] + t[2].replace("\n", " ").encode("utf-8", "surrogatepass"))
    ),
)


def _safe(b: bytes) -> bytes:
    return b.replace(b"\n", b" ").replace(b"\x00", b"0")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line_text, min_size=1, max_size=5))
def test_translation_is_a_superset(lines: list[str]) -> None:
    """Wherever a pattern matches a line's record text, its byte translation matches the line."""
    for text in lines:
        raw = _safe(text.encode("utf-8", "surrogatepass"))
        decoded = sources._decode(bytearray(raw), 2, False)
        line = records.parse_line("x", 2, decoded, records.Clock())
        stripped = fastmatch.strip_block(raw)
        for pattern, ignore_case in PATTERNS:
            if re.search(pattern, line.match_text.split("\n")[0], re.IGNORECASE if ignore_case else 0):
                rx = TRANSLATED[(pattern, ignore_case)]
                assert rx.search(stripped), (pattern, raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(line_bytes, min_size=1, max_size=40), st.booleans(), st.booleans())
def test_generated_files_identical(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], crlf: bool, final_newline: bool) -> None:
    catalogue = _CATALOGUE[0]
    sep = b"\r\n" if crlf else b"\n"
    data = sep.join(b.replace(b"\n", b" ") for b in lines) + (sep if final_newline else b"")
    path = tmp_path_factory.mktemp("gen") / "runner.log"
    path.write_bytes(data)
    assert_same(path, catalogue)


_CATALOGUE: list[events.Catalogue] = [analyze.load_knowledge(use_env=False).catalogue]
PATTERNS = fastmatch.catalogue_patterns(_CATALOGUE[0])
TRANSLATED = {p: re.compile(fastmatch.translate(*p).encode("ascii"), re.MULTILINE) for p in PATTERNS}


# ── boundaries, long lines, ranges, compressed inputs ──────────────────────────────────────────


def _incident_lines() -> list[bytes]:
    seed = (ROOT / "fixtures" / "logs" / "seed-506813" / "runner.log").read_bytes()
    return seed.splitlines()


def _big_log(path: Path, repeats: int, long_every: int = 0) -> Path:
    """Noise, a Run group, harness lines without a date after a dated line, colours, the seed."""
    noise = [
        b"2026-06-15T08:30:00.1000000Z Collecting requests==2.32.3",
        b"2026-06-15T08:30:00.2000000Z \x1b[32mPASSED\x1b[0m tests/test_x.py::t",
        b"2026-06-15T08:30:00.3000000Z ##[group]Run bash e2e.sh",
        b"2026-06-15T08:30:00.4000000Z   E2E_RUN_ID: 99-1",
        b"2026-06-15T08:30:00.5000000Z ##[endgroup]",
        b"[08:30:01] 2/11 Waiting for tenant provisioning (up to 900s)...",
        b"[08:30:02] \xe2\x9c\x85 Tenant provisioning complete",
        b"{\"ts\":\"2026-06-15T08:30:03Z\",\"msg\":\"container restart triggered\"}",
        b"2026/06/15 08:30:04 ProxyA2A forward error: EOF",
    ]
    out = []
    for i in range(repeats):
        out.extend(noise)
        if long_every and i % long_every == 0:
            out.append(b"2026-06-15T08:30:05.0000000Z " + b"x" * 70_000 + b" container restart triggered")
    out.extend(_incident_lines())
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def test_small_blocks_and_long_lines(tmp_path: Path, catalogue: events.Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastmatch, "CHUNK", 70_000)
    path = _big_log(tmp_path / "long.log", 300, long_every=40)
    reference = assert_same(path, catalogue)
    assert reference[0][1] == len(path.read_bytes().splitlines())


@pytest.mark.parametrize("engine", ENGINES)
def test_byte_ranges_in_worker_processes(tmp_path: Path, catalogue: events.Catalogue, monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """A file cut into ranges scanned by two worker processes: numbering, Run groups and the
    harness clock carried across range boundaries."""
    monkeypatch.setattr(fastmatch, "CHUNK", 70_000)
    monkeypatch.setattr(fastmatch, "SPLIT_MIN", 1)
    monkeypatch.setattr(fastmatch, "RANGE_MIN", 50_000)
    monkeypatch.setattr(fastmatch, "POOL_MIN", 1)
    monkeypatch.setenv("FORENSICS_WORKERS", "2")
    path = _big_log(tmp_path / "ranges.log", 2000)
    assert path.stat().st_size > 4 * 50_000
    reference = summary(str(path), catalogue, "lines")
    assert summary(str(path), catalogue, engine) == reference
    assert len(fastmatch._ranges(str(path), path.stat().st_size, 4)) == 4


def test_several_files_at_once(tmp_path: Path, catalogue: events.Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastmatch, "POOL_MIN", 1)
    monkeypatch.setenv("FORENSICS_WORKERS", "2")
    a = _big_log(tmp_path / "a.log", 50)
    b = tmp_path / "b.log.gz"
    b.write_bytes(gzip.compress(a.read_bytes()))
    paths = [str(a), str(INPUTS[0]), str(b)]
    for engine in ENGINES:
        got = [(s.name, r.lines, [e.to_dict() for e in r.events]) for s, r in fastmatch.extract_sources(paths, catalogue, Redactor(), engine)]
        want = [(s.name, r.lines, [e.to_dict() for e in r.events]) for s, r in fastmatch.extract_sources(paths, catalogue, Redactor(), "lines")]
        assert got == want


def test_gzip_zip_binary_empty(tmp_path: Path, catalogue: events.Catalogue) -> None:
    log = _big_log(tmp_path / "x.log", 5)
    (tmp_path / "x.log.gz").write_bytes(gzip.compress(log.read_bytes())[:-20])  # truncated: a note
    with zipfile.ZipFile(tmp_path / "run.zip", "w") as zf:
        zf.writestr("1_job.txt", log.read_bytes())
        zf.writestr("2_other.txt", b"\xff\xfe latin-1 \xe9\n")
    (tmp_path / "bin.log").write_bytes(b"\x00\x01binary" * 100)
    (tmp_path / "empty.log").write_bytes(b"")
    for name in ("x.log.gz", "run.zip", "bin.log", "empty.log"):
        assert_same(tmp_path / name, catalogue)


def test_fold_table_is_complete() -> None:
    """Every non-ASCII character re.IGNORECASE matches against an ASCII letter is in FOLD_EXTRA."""
    everything = fastmatch._all_chars()[128:]
    for letter in "abcdefghijklmnopqrstuvwxyz":
        found = {c.encode() for c in re.findall(letter, everything, re.IGNORECASE)}
        assert found == set(fastmatch.FOLD_EXTRA.get(letter, ())), letter


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fastmatch.ENV, "python")
    assert fastmatch.engine_choice() == "python"
    monkeypatch.setenv(fastmatch.ENV, "lines")
    assert fastmatch.engine_choice() == "lines"
    monkeypatch.setenv(fastmatch.ENV, "bogus")
    assert fastmatch.engine_choice() == ("hyperscan" if fastmatch.hyperscan is not None else "python")
