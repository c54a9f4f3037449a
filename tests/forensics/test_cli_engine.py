"""CLI contract of `analyze` and `signatures`: exit codes, one-line errors, user signatures, --out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = "fixtures/logs/seed-506813/runner.log"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forensics", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("bad", ["does/not/exist.log", "fixtures/logs", "/proc/self/mem"])
def test_unreadable_input_exits_2_with_one_line(bad: str) -> None:
    line = one_line_error(cli("analyze", SEED, bad, "--format", "json"))
    assert bad in line
    assert cli("analyze", SEED, bad).stdout == ""


def test_out_writes_atomically_and_prints_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "rca.json"
    proc = cli("analyze", SEED, "--format", "json", "--out", str(target))
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(target.read_text())["primary"] == "destructive-restart"
    assert [p.name for p in target.parent.iterdir()] == ["rca.json"]


def test_markdown_is_produced() -> None:
    proc = cli("analyze", SEED, "--format", "md")
    assert proc.returncode == 0, proc.stderr
    assert "destructive-restart" in proc.stdout


def test_signatures_table_json_and_grep() -> None:
    table = cli("signatures")
    assert table.returncode == 0 and "restart-triggered-503" in table.stdout
    sigs = json.loads(cli("signatures", "--json").stdout)
    assert {"id", "pattern", "hypothesis", "direction", "strength", "step", "kind", "meaning"} <= set(sigs[0])
    grep = cli("signatures", "--grep").stdout.splitlines()
    assert len(grep) == len(sigs)
    if shutil.which("grep"):
        patterns = ROOT / "tests" / "forensics" / ".grep-patterns.tmp"
        try:
            patterns.write_text("\n".join(grep) + "\n")
            proc = subprocess.run(["grep", "-c", "-E", "-f", str(patterns), SEED], cwd=ROOT, capture_output=True, text=True)
        finally:
            patterns.unlink()
        assert proc.returncode == 0 and int(proc.stdout) > 10, proc.stderr


def test_user_signature_file_adds_knowledge_without_code(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("[10:00:00] 8/11 Sending A2A message to parent...\n"
                   "[10:00:05] ❌ A2A returned no text. Raw: flux capacitor overheated on host-7\n")
    base = json.loads(cli("analyze", str(log), "--format", "json").stdout)
    assert base["primary"] == "unknown"
    extra = tmp_path / "mine.toml"
    extra.write_text(
        "[[signature]]\nid = \"flux-capacitor\"\npattern = 'flux capacitor overheated'\n"
        "hypothesis = \"cpu-exhaustion\"\ndirection = \"for\"\nstrength = 3\nkind = \"overheat\"\n"
        "meaning = \"the host's flux capacitor overheated\"\n"
    )
    for args, env in ((["--signatures", str(extra)], None), ([], {"FORENSICS_SIGNATURES": str(extra)})):
        data = json.loads(cli("analyze", str(log), "--format", "json", *args, env=env).stdout)
        assert data["primary"] == "cpu-exhaustion"
        assert data["failed_step"] == "pong"
        assert data["hypotheses"]["cpu-exhaustion"]["evidence"][0]["line"] == 2
    assert "flux-capacitor" in cli("signatures", "--signatures", str(extra)).stdout


@pytest.mark.parametrize("body", [
    "[[signature]]\nid = 'x'\npattern = '(unclosed'\n",
    "[[signature]]\nid = 'x'\npattern = 'a'\nhypothesis = 'gremlins'\n",
    "[[signature]]\nid = 'x'\npattern = 'a'\nstrength = 9\n",
    "not toml = = =\n",
])
def test_bad_signature_file_is_one_line_exit_2(tmp_path: Path, body: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(body)
    assert "bad.toml" in one_line_error(cli("analyze", SEED, "--signatures", str(bad)))
    one_line_error(cli("signatures", "--signatures", str(bad)))
