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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY = "LOCAL_TENANT_READY "


USAGE_EXIT = 2   # the tenant's exit code for bad options (one line on its stderr)


class TenantStartError(Exception):
    """The tenant gave no READY line; `returncode` is its exit code (None if it was still running)."""

    def __init__(self, message: str, returncode: int | None = None, last_line: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.last_line = last_line

    @property
    def bad_options(self) -> bool:
        return self.returncode == USAGE_EXIT


@dataclass(slots=True)
class LocalTenant:
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    output_tail: list[str]
    got_ready: threading.Event = field(default_factory=threading.Event)
    output_closed: bool = False   # the tenant's stdout reached EOF (it exited or is exiting)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0, started: float | None = None) -> "LocalTenant":
        """Block until the READY line (or exit); raises TenantStartError (and stops the tenant) without it."""
        deadline = (started if started is not None else time.monotonic()) + timeout
        while not self.got_ready.wait(0.05):
            if time.monotonic() > deadline:
                break
        if not self.ready:
            if self.output_closed:  # exiting by itself: collect its own exit code before any signal could replace it
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            exited = self.process.poll() is not None
            self.stop()
            reason = "exited" if exited else f"printed no READY line within {timeout:.0f}s"
            last = next((t for t in reversed(self.output_tail) if t.strip()), "")
            raise TenantStartError(f"local tenant {reason} (rc={self.process.returncode}); last output: {last[:300]}",
                                   self.process.returncode if exited else None, last[:300])
        return self

    def request_stop(self) -> None:
        """SIGTERM without waiting (the tenant then stops its agents); `stop()` waits for the exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

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


def launch(faults: tuple[str, ...], check_mode: str | None, server_log: Path, state_dir: Path,
           extra: tuple[str, ...] = ()) -> LocalTenant:
    """Start the tenant without waiting: its READY line is read in the background (see `wait_ready`)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        command(faults, check_mode, server_log, state_dir, extra), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, bufsize=1,
        start_new_session=True, cwd=str(Path(__file__).resolve().parent.parent))
    tenant = LocalTenant(process, {}, [])

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(READY) and not tenant.ready:
                try:
                    tenant.ready.update(json.loads(line[len(READY):]))
                except ValueError:
                    tenant.output_tail.append(line)
                tenant.got_ready.set()
                continue
            tenant.output_tail.append(line)
            del tenant.output_tail[:-40]
        tenant.output_closed = True
        tenant.got_ready.set()

    threading.Thread(target=reader, name="local-tenant-stdout", daemon=True).start()
    return tenant


def start(faults: tuple[str, ...], check_mode: str | None, server_log: Path, state_dir: Path,
          timeout: float = 60.0, extra: tuple[str, ...] = ()) -> LocalTenant:
    """Start the tenant and wait for its READY line (raises TenantStartError with its output tail)."""
    return launch(faults, check_mode, server_log, state_dir, extra).wait_ready(timeout)
