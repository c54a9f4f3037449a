"""Generate a large, realistic CI runner log with one real failure buried in it.

The noise looks like what a verbose Gitea/GitHub Actions job really prints — runner timestamps
(7 decimals), `::group::` markers, apt/pip installs, docker pull progress, pytest output with ANSI
colours, Go server and Gin access lines, minified JSON, a few very long lines — and the incident is
the seed's job 506813 (a destructive restart after PONG at the known-answer step), spread through
the file at the byte offsets where its timestamps fall.

Invariants:
- Output is deterministic for a given (size, seed); timestamps never go backwards.
- The incident lines appear exactly once each, in order; the noise contains no line any shipped
  signature is meant to match (it is generic CI chatter).
- Generation is streaming (memory is a few MB whatever the size) and fast: a small set of noise
  blocks is rendered once and re-stamped with bytes.replace per block.

Usage: python benchmarks/gen_runner_log.py OUT --size 1G [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

VERSION = 2   # bump when the output changes (cached logs are keyed by it)
DAY = "2026-06-15"
START = datetime(2026, 6, 15, 8, 29, 30)
END = datetime(2026, 6, 15, 8, 34, 40)
WID = "3f6c2a1e-8d4b-4c71-9a55-0b7e2d9c1f42"
SLUG = "e2e-boot-20260615-369624-1"
BLOCK_TARGET = 256 * 1024          # bytes per noise block template
TEMPLATES = 24                     # distinct noise block templates
HMS_MARK = b"@H:@M:@S"             # placeholder re-stamped per written block

# The incident: (seconds after START, line without runner prefix, harness-stamped?).
# Harness lines carry their own [HH:MM:SS]; the runner prefix is added to every line.
INCIDENT: tuple[tuple[str, str], ...] = (
    ("08:30:40", "[{t}] ═══════════════════════════════════════════════════════════════════"),
    ("08:30:40", "[{t}]  Staging platform-boot E2E"),
    ("08:30:40", "[{t}]    CP:      https://staging-api.moleculesai.app"),
    ("08:30:40", "[{t}]    Slug:    {SLUG}"),
    ("08:30:40", "[{t}]    Runtime: hermes"),
    ("08:30:40", "[{t}]    Mode:    full"),
    ("08:30:40", "[{t}]    Timeout: 900s"),
    ("08:30:40", "[{t}] 0/11 Preflight: CP reachable?"),
    ("08:30:41", "[{t}] ✅ CP reachable"),
    ("08:30:41", "[{t}] 1/11 Creating org {SLUG} via /cp/admin/orgs..."),
    ("08:30:42", "[{t}] ✅ Org created (id=7d1e0c55-2b8f-4a3e-9c6d-5f4a3b2c1d0e http=201 slug_len=26)"),
    ("08:30:42", "[{t}] 2/11 Waiting for tenant provisioning (up to 900s)..."),
    ("08:30:43", "[{t}]     status → provisioning"),
    ("08:30:48", "[{t}]     status → running"),
    ("08:30:48", "[{t}] ✅ Tenant provisioning complete"),
    ("08:30:48", "[{t}]     TENANT_URL=https://{SLUG}.staging.moleculesai.app"),
    ("08:30:48", "[{t}] 3/11 Fetching per-tenant admin token..."),
    ("08:30:49", "[{t}] ✅ Tenant admin token retrieved (len=64)"),
    ("08:30:49", "[{t}] 4/11 Waiting for tenant TLS / DNS propagation..."),
    ("08:30:50", "[{t}] ✅ Tenant reachable at https://{SLUG}.staging.moleculesai.app"),
    ("08:30:51", "[{t}]     LLM path: PLATFORM-MANAGED (no tenant key; proxy + Fix A provider stamp)"),
    ("08:30:51", "[{t}]     MODEL_SLUG=moonshot/kimi-k2.6"),
    ("08:30:51", "Platform-managed path: no tenant LLM key required ✓"),
    ("08:30:51", "[{t}] 5/11 Provisioning parent workspace (runtime=hermes)..."),
    ("08:30:52", "[{t}]     PARENT_ID={WID}"),
    ("08:30:52", "[{t}] 6/11 Canary mode — skipping child workspace"),
    ("08:30:52", "[{t}] 7/11 Waiting for workspace(s) to reach status=online (up to 30 min — hermes cold boot)..."),
    ("08:30:53", "[{t}]     {WID} → provisioning"),
    ("08:33:27", "[{t}]     {WID} → online"),
    ("08:33:27", "[{t}]     {WID} url ready: http://ip-10-10-1-154:8000"),
    ("08:33:27", "[{t}] ✅     {WID} online and routable"),
    ("08:33:27", "[{t}] 7a/11 Real image upload/download round-trip..."),
    ("08:33:30", "[{t}] ✅     {WID} image upload/download OK (image/png, sha256=9c1f0e5b7a2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e)"),
    ("08:33:30", "[{t}] 7b/11 Canvas-terminal EIC diagnose probe..."),
    ("08:33:33", "[{t}] ✅     {WID} terminal-reachable (canvas terminal will work)"),
    ("08:33:33", "[{t}] 7c/11 Files API config.yaml round-trip..."),
    ("08:33:37", "[{t}] ✅     {WID} config.yaml PUT OK (HTTP 200)"),
    ("08:33:37", "[{t}] 7d/11 Waiting for workspace(s) to recover routing after config.yaml PUT..."),
    ("08:33:38", "[{t}]     {WID} → online"),
    ("08:33:38", "[{t}]     {WID} url ready: http://ip-10-10-1-154:8000"),
    ("08:33:38", "[{t}] ✅     {WID} online and routable"),
    ("08:33:38", "[{t}] 8/11 Sending A2A message to parent — expecting agent response..."),
    ("08:33:46", '[{t}] ✅ A2A parent round-trip succeeded: "PONG"'),
    ("08:33:46", '[{t}] 8b. Known-answer probe (queued task) — "What is 9 × 14? Reply with the number only."'),
    ("08:33:46", '    A2A known-answer A2A agent-origin 503 attempt 1/12: {"error":"workspace agent unreachable — container restart triggered","restarting":true}'),
    ("08:34:16", '    A2A known-answer A2A agent-origin 503 attempt 2/12: {"error":"workspace has no URL","status":"offline"}'),
    ("08:34:16", '[{t}] ❌ A2A known-answer failed after 2 attempt(s) (curl_rc=22, http=503): {"error":"workspace has no URL","status":"offline"}'),
    ("08:34:16", "[{t}] 🧹 Tearing down org {SLUG}..."),
    ("08:34:17", "[{t}] ✅ Teardown request accepted"),
    ("08:34:27", "[{t}] ✅ Teardown clean — no orphan org or EC2 resources for {SLUG} (10s)"),
    ("08:34:27", "##[error]Process completed with exit code 1."),
)

ESC = "\x1b"
PKGS = ("requests", "urllib3", "idna", "certifi", "charset-normalizer", "httpx", "anyio", "sniffio",
        "pydantic", "pydantic-core", "typing-extensions", "jinja2", "markupsafe", "pyyaml", "click",
        "rich", "pygments", "websockets", "uvicorn", "starlette", "h11", "httpcore", "packaging",
        "pluggy", "iniconfig", "pytest", "coverage", "attrs", "tenacity", "orjson")
DEBS = ("libjq1", "libonig5", "jq", "bind9-dnsutils", "bind9-libs", "libuv1", "libfstrm0", "liblmdb0",
        "libprotobuf-c1", "dnsutils", "curl", "libcurl4", "ca-certificates", "openssl", "git-man")
TEST_FILES = ("tests/test_registry.py", "tests/test_queue.py", "tests/test_proxy_helpers.py",
              "tests/test_templates.py", "tests/test_files_api.py", "tests/test_terminal.py",
              "tests/unit/test_redact.py", "tests/unit/test_model.py", "tests/unit/test_config.py")
GO_PATHS = ('"/health"', '"/buildinfo"', '"/metrics"', '"/workspaces"', '"/registry/heartbeat"',
            '"/workspaces/0b5e6f1a-7c2d-4e9b-8a3f-1d2c3b4a5e6f"', '"/ws"', '"/cp/orgs/status"')


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _noise_line(rng: random.Random, during_e2e: bool) -> str:
    """One line of generic CI chatter (no runner prefix).

    Before the E2E step: job setup, installs, unit tests (with the odd step marker and pytest
    summary). During it: only what a verbose run interleaves with the harness — server and
    app logs, docker progress, shell traces — never a CI step marker.
    """
    kind = rng.random()
    if during_e2e:
        kind = 0.30 + kind * 0.70          # no pip / pytest
        if 0.80 <= kind < 0.86:
            return f"+ curl -sS -o /dev/null -w '%{{http_code}}' https://{SLUG}.staging.moleculesai.app/health"
    elif rng.random() < 0.0003:
        return rng.choice((
            f"##[group]Run pip install -r requirements-{rng.choice(('dev', 'test', 'e2e'))}.txt",
            f"{ESC}[32m{'=' * 20} {rng.randint(10, 900)} passed, {rng.randint(0, 9)} skipped in {rng.randint(1, 99)}.{rng.randint(10, 99)}s {'=' * 20}{ESC}[0m",
        ))
    if kind < 0.16:  # pip
        pkg = rng.choice(PKGS)
        ver = f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
        return rng.choice((
            f"Collecting {pkg}=={ver}",
            f"  Downloading {pkg}-{ver}-py3-none-any.whl.metadata ({rng.randint(2, 90)}.{rng.randint(0, 9)} kB)",
            f"  Downloading {pkg}-{ver}-py3-none-any.whl ({rng.randint(20, 900)} kB)",
            f"   {'━' * 40} {rng.randint(20, 900)}/{rng.randint(900, 999)} kB {rng.randint(1, 60)}.{rng.randint(0, 9)} MB/s eta 0:00:00",
            f"Requirement already satisfied: {pkg}>={ver} in /opt/hostedtoolcache/Python/3.12.3/x64/lib/python3.12/site-packages",
            f"Successfully installed {pkg}-{ver} {rng.choice(PKGS)}-{ver}",
        ))
    if kind < 0.30:  # pytest, coloured
        name = f"test_{rng.choice(('parse', 'render', 'merge', 'retry', 'redact', 'queue', 'upload'))}_{_hex(rng, 4)}"
        pct = rng.randint(0, 100)
        return rng.choice((
            f"{rng.choice(TEST_FILES)}::{name} {ESC}[32mPASSED{ESC}[0m{' ' * rng.randint(1, 20)}[{pct:3d}%]",
            f"{rng.choice(TEST_FILES)}::{name} {ESC}[33mSKIPPED{ESC}[0m (needs docker) [{pct:3d}%]",
            f"{rng.choice(TEST_FILES)} {ESC}[32m{'.' * rng.randint(5, 60)}{ESC}[0m{' ' * 4}[{pct:3d}%]",
        ))
    if kind < 0.44:  # docker pull progress
        layer = _hex(rng, 12)
        return rng.choice((
            f"{layer}: Pulling fs layer",
            f"{layer}: Waiting",
            f"{layer}: Downloading [{'=' * rng.randint(1, 49)}>{' ' * rng.randint(0, 10)}]  {rng.randint(1, 99)}.{rng.randint(0, 99)}MB/{rng.randint(100, 300)}.{rng.randint(0, 9)}MB",
            f"{layer}: Extracting [{'=' * rng.randint(1, 49)}>]  {rng.randint(1, 99)}.{rng.randint(0, 9)}MB/{rng.randint(100, 300)}.{rng.randint(0, 9)}MB",
            f"{layer}: Verifying Checksum",
            f"{layer}: Download complete",
            f"{layer}: Pull complete",
            f"Digest: sha256:{_hex(rng, 64)}",
            f"Status: Downloaded newer image for ghcr.io/molecule-ai/workspace-runtime:{_hex(rng, 7)}",
        ))
    if kind < 0.62:  # Go server + Gin access lines
        hms = HMS_MARK.decode()  # stamped with the block's time, like the runner prefix
        return rng.choice((
            f"[GIN] 2026/06/15 - {hms} | 200 | {rng.randint(1, 999)}.{rng.randint(100000, 999999)}µs | 10.10.{rng.randint(0, 9)}.{rng.randint(1, 254)} | GET      {rng.choice(GO_PATHS)}",
            f"[GIN] 2026/06/15 - {hms} | 204 | {rng.randint(1, 99)}.{rng.randint(100000, 999999)}ms | 172.70.{rng.randint(0, 250)}.{rng.randint(1, 254)} | POST     \"/registry/heartbeat\"",
            f"2026/06/15 {hms} cache: hit ratio {rng.randint(80, 99)}.{rng.randint(0, 9)}% ({rng.randint(100, 9999)} keys)",
            f"2026/06/15 {hms} scheduler: tick {rng.randint(1000, 99999)} — {rng.randint(0, 9)} jobs due",
            f"2026/06/15 {hms} db: pool stats open={rng.randint(1, 20)} idle={rng.randint(0, 5)} wait_count=0",
            f"2026/06/15 {hms} metrics: flushed {rng.randint(10, 500)} series in {rng.randint(1, 90)}ms",
        ))
    if kind < 0.72:  # apt
        deb = rng.choice(DEBS)
        ver = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}-{rng.randint(1, 5)}ubuntu{rng.randint(0, 3)}"
        return rng.choice((
            f"Get:{rng.randint(1, 40)} http://archive.ubuntu.com/ubuntu jammy/main amd64 {deb} amd64 {ver} [{rng.randint(10, 900)} kB]",
            f"Preparing to unpack .../{rng.randint(0, 20):02d}-{deb}_{ver}_amd64.deb ...",
            f"Unpacking {deb}:amd64 ({ver}) ...",
            f"Setting up {deb}:amd64 ({ver}) ...",
            "Processing triggers for libc-bin (2.35-0ubuntu3.9) ...",
        ))
    if kind < 0.80:  # go test / build
        pkg = rng.choice(("handlers", "registry", "provisioner", "router", "middleware", "queue"))
        return rng.choice((
            f"=== RUN   Test{pkg.title()}_{_hex(rng, 5)}",
            f"--- PASS: Test{pkg.title()}_{_hex(rng, 5)} (0.{rng.randint(0, 99):02d}s)",
            f"ok  \tgithub.com/molecule-ai/molecule-core/workspace-server/internal/{pkg}\t{rng.randint(0, 9)}.{rng.randint(100, 999)}s",
            f"go: downloading github.com/{rng.choice(('gin-gonic/gin', 'redis/go-redis/v9', 'jackc/pgx/v5'))} v1.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        ))
    if kind < 0.86:  # group markers and run-script echo (GitHub colours these)
        return rng.choice((
            f"{ESC}[36;1mpython -m pytest -q -n 2 tests/{ESC}[0m",
            f"{ESC}[36;1mdocker compose -f compose.{rng.choice(('ci', 'e2e'))}.yml up -d --wait{ESC}[0m",
            "shell: /usr/bin/bash -e {0}",
        ))
    if kind < 0.9993:  # JSON-per-line app log
        return ('{"level":"' + rng.choice(("debug", "info")) + '","ts":"' + f"{DAY}T{HMS_MARK.decode()}Z"
                + '","msg":"' + rng.choice(("request served", "cache refreshed", "token rotated on schedule", "span exported"))
                + f'","latency_ms":{rng.randint(1, 400)},"trace":"{_hex(rng, 16)}"' + "}")
    # a rare very long line (minified JSON dump / base64 blob)
    return '{"dump":"' + _hex(rng, rng.randint(4_000, 40_000)) + '"}'


def _template(rng: random.Random, during_e2e: bool) -> bytes:
    """A noise block: runner-prefixed lines with a placeholder HH:MM:SS and rising fractions."""
    lines: list[str] = []
    size = 0
    while size < BLOCK_TARGET:
        lines.append(_noise_line(rng, during_e2e))
        size += len(lines[-1]) + 40
    fracs = sorted(rng.randrange(10_000_000) for _ in lines)
    hms = HMS_MARK.decode()
    out = "".join(f"{DAY}T{hms}.{f:07d}Z {text}\n" for f, text in zip(fracs, lines))
    return out.encode("utf-8")


def _hms(t: datetime) -> str:
    return t.strftime("%H:%M:%S")


def _incident_lines() -> list[tuple[datetime, bytes]]:
    out: list[tuple[datetime, bytes]] = []
    for i, (hms, text) in enumerate(INCIDENT):
        t = datetime.fromisoformat(f"{DAY}T{hms}")
        prefix = f"{DAY}T{hms}.{(i * 137_911) % 10_000_000:07d}Z "
        out.append((t, (prefix + text.replace("{t}", hms).replace("{SLUG}", SLUG).replace("{WID}", WID) + "\n").encode("utf-8")))
    return out


def generate(out: Path, size: int, seed: int = 7) -> Path:
    """Write a ~size-byte runner log to `out` atomically; returns `out`."""
    rng = random.Random(seed)
    setup_templates = [_template(rng, False) for _ in range(TEMPLATES)]
    e2e_templates = [_template(rng, True) for _ in range(TEMPLATES)]
    incident = _incident_lines()
    e2e_start = incident[0][0]
    span = (END - START).total_seconds()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    written = 0
    next_incident = 0
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            header = f"{DAY}T08:29:30.0000001Z molecule-runner-02(version:v0.2.11) received task 506813 of job e2e-boot, be triggered by event: schedule\n"
            fh.write(header.encode())
            written += len(header)
            while written < size or next_incident < len(incident):
                now = START + timedelta(seconds=span * min(written, size) / size)
                # incident lines whose time has come are written before the next noise block
                while next_incident < len(incident) and (incident[next_incident][0] <= now or written >= size):
                    line = incident[next_incident][1]
                    fh.write(line)
                    written += len(line)
                    next_incident += 1
                if written >= size:
                    continue
                templates = e2e_templates if now >= e2e_start else setup_templates
                block = rng.choice(templates).replace(HMS_MARK, _hms(now).encode())
                fh.write(block)
                written += len(block)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def parse_size(text: str) -> int:
    """'1G', '100M', '512k', '12345' -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100M or 1G)")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=parse_size, default=parse_size("100M"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    generate(args.out, args.size, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
