"""The evidence-line contract of the dev corpus README, checked mechanically."""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

# ECMA-48 CSI / OSC / two-byte escapes: the usual "strip-ansi" definition (SGR colour codes,
# cursor moves, private modes such as ESC[?25l).
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
MARK = "[REDACTED]"
ZIP_SEP = "::"  # a Gitea run-logs zip member is reported as "<zip as given>::<member>"


def contract_lines(path: str | Path) -> list[str]:
    """Lines as the contract defines them: bytes, gunzip for .gz, UTF-8 replace, split on \\n, drop one \\r."""
    if ZIP_SEP in str(path):
        archive, member = str(path).split(ZIP_SEP, 1)
        raw = zipfile.ZipFile(archive).read(member)
    else:
        raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    out = []
    for line in raw.decode("utf-8", errors="replace").split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        out.append(ANSI.sub("", line))
    return out


def check_evidence(analysis: dict, given: list[str], base: Path | None = None) -> list[str]:
    """Problems with evidence/timeline lines (empty list = all real)."""
    problems: list[str] = []
    cache: dict[str, list[str]] = {}
    items = [("evidence", e) for h in analysis["hypotheses"].values() for e in h["evidence"]]
    items += [("timeline", e) for e in analysis["timeline"]]
    for where, e in items:
        if e["source"].split(ZIP_SEP, 1)[0] not in given:
            problems.append(f"{where}: source {e['source']!r} not given")
            continue
        lines = cache.setdefault(e["source"], contract_lines(base / e["source"] if base else e["source"]))
        if not 1 <= e["line"] <= len(lines):
            problems.append(f"{where}: line {e['line']} out of range")
            continue
        original = lines[e["line"] - 1]
        for piece in e["text"].split(MARK):
            if piece and piece not in original:
                problems.append(f"{where}: {e['source']}:{e['line']} text piece {piece[:60]!r} not verbatim")
                break
    return problems
