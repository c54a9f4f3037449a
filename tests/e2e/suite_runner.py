"""Run the boot suite as a subprocess (`python -m pytest e2e ... --reports-dir DIR`) and read its reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    rc: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def run_log(self) -> str:
        return (self.reports / "run.log").read_text(encoding="utf-8")

    def outcomes(self) -> dict[str, tuple[str, str]]:
        """junit testcase name (e.g. `test_pong[claude-code]`) -> (passed|failed|skipped|error, message)."""
        tree = ET.parse(self.reports / "junit.xml")
        result: dict[str, tuple[str, str]] = {}
        for case in tree.iter("testcase"):
            state, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    state = {"failure": "failed"}.get(tag, tag)
                    message = (node.get("message") or "") + "\n" + (node.text or "")
                    break
            result[case.get("name", "")] = (state, message)
        return result

    def failed_steps(self) -> list[str]:
        return [name for name, (state, _) in self.outcomes().items() if state in ("failed", "error")]

    def rca(self) -> dict:
        return json.loads((self.reports / "rca.json").read_text(encoding="utf-8"))

    def events(self) -> list[dict]:
        return [json.loads(line) for line in (self.reports / "events.jsonl").read_text().splitlines() if line]


def suite_command(reports: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "e2e", "-p", "no:cacheprovider", "-q",
            "--reports-dir", str(reports), *args]


def run_suite(reports: Path, *args: str, timeout: float = 120.0, extra_env: dict[str, str] | None = None) -> SuiteRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E2E_", "MOLECULE_", "PYTEST_XDIST", "FORENSICS_"))}
    env.update(extra_env or {})
    proc = subprocess.run(suite_command(reports, *args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, reports)


def start_suite(reports: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E2E_", "MOLECULE_", "PYTEST_XDIST"))}
    return subprocess.Popen(suite_command(reports, *args), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(path: Path, pattern: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and re.search(pattern, path.read_text(encoding="utf-8", errors="replace")):
            return True
        time.sleep(0.05)
    return False


def processes_touching(path: Path) -> list[str]:
    """Live processes whose command line or working directory mentions `path` (orphan check)."""
    needle = str(path)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")), "")
        except (OSError, ValueError):
            continue
        if "zombie" in state:
            continue
        if needle in cmdline or cwd.startswith(needle):
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def tenant_pid(run_log: str) -> int | None:
    match = re.search(r"Local tenant ready \(pid=(\d+)", run_log)
    return int(match.group(1)) if match else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/status")
    return not (state.exists() and "zombie" in state.read_text())


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in process group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def terminate(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
