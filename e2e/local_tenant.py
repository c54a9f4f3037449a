"""Start and stop the local tenant as a subprocess (`python -m fixtures.tenant`).

Invariants:
- e2e never imports fixtures: the only contract is the command line and the one stdout line
  `LOCAL_TENANT_READY {json}`.
- `stop()` sends SIGTERM, waits, and escalates to SIGKILL of the tenant's process group, so
  no process it started outlives the session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY = "LOCAL_TENANT_READY "


class TenantStartError(Exception):
    pass


@dataclass(slots=True)
class LocalTenant:
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    output_tail: list[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=5)


def command(faults: tuple[str, ...], check_mode: str | None, server_log: Path, state_dir: Path,
            extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "fixtures.tenant", "--cp-port", "0", "--tenant-port", "0",
           "--server-log", str(server_log), "--state-dir", str(state_dir)]
    for fault in faults:
        cmd += ["--fault", fault]
    if check_mode:
        cmd += ["--check-mode", check_mode]
    return cmd + list(extra)


def start(faults: tuple[str, ...], check_mode: str | None, server_log: Path, state_dir: Path,
          timeout: float = 60.0, extra: tuple[str, ...] = ()) -> LocalTenant:
    """Start the tenant and wait for its READY line (raises TenantStartError with its output tail)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        command(faults, check_mode, server_log, state_dir, extra), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, bufsize=1,
        start_new_session=True, cwd=str(Path(__file__).resolve().parent.parent))
    tail: list[str] = []
    found: dict[str, Any] = {}
    got_ready = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(READY) and not found:
                try:
                    found.update(json.loads(line[len(READY):]))
                except ValueError:
                    tail.append(line)
                got_ready.set()
                continue
            tail.append(line)
            del tail[:-40]
        got_ready.set()

    threading.Thread(target=reader, name="local-tenant-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not got_ready.wait(0.05):
        if time.monotonic() > deadline:
            break
    tenant = LocalTenant(process, found, tail)
    if not found:
        tenant.stop()
        reason = "exited" if process.poll() is not None else f"printed no READY line within {timeout:.0f}s"
        last = next((t for t in reversed(tail) if t.strip()), "")
        raise TenantStartError(f"local tenant {reason} (rc={process.returncode}); last output: {last[:300]}")
    return tenant
