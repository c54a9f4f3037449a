"""WebSocket clients: the `/ws` events feed (platform-api.md §9.1) and the terminal (§8).

Invariants:
- `EventFeed.sleep(seconds)` is a drop-in for `time.sleep` that returns early when an event for
  the watched workspace arrives; without a live feed it is exactly `time.sleep`.
- The feed never sends anything to the platform (the server ignores client frames anyway).
- The terminal probe proves execution, not echo: it types a command whose *output* is the nonce,
  which never appears verbatim in the typed input.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect


class EventFeed:
    """Follows `/ws` in a daemon thread and wakes waiters on events for their workspace."""

    def __init__(self, ws_url: str, headers: dict[str, str], open_timeout: float = 5.0) -> None:
        self.ws_url = ws_url
        self.headers = headers
        self.open_timeout = open_timeout
        self.workspace_id: str | None = None
        self.connected = False
        self.last_event: dict | None = None
        self.error: str = ""
        self._cond = threading.Condition()
        self._seq = 0
        self._stop = threading.Event()
        self._conn: ClientConnection | None = None
        self._thread: threading.Thread | None = None
        self.on_event: Callable[[dict], None] | None = None   # called for every event, in the reader thread

    def start(self) -> bool:
        """Connect (in the reader thread, as a context manager) and report whether it opened."""
        opened = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(opened,), name="e2e-events", daemon=True)
        self._thread.start()
        opened.wait(self.open_timeout + 1.0)
        return self.connected

    def watch(self, workspace_id: str | None) -> None:
        self.workspace_id = workspace_id

    def _run(self, opened: threading.Event) -> None:
        try:
            with connect(self.ws_url, additional_headers=self.headers, open_timeout=self.open_timeout,
                         close_timeout=1) as conn:
                self._conn = conn
                self.connected = True
                opened.set()
                if self._stop.is_set():
                    return
                for message in conn:
                    self._on_message(message)
        except (OSError, WebSocketException, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.connected = False
            opened.set()
            with self._cond:
                self._cond.notify_all()

    def _on_message(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
        except (TypeError, ValueError):
            return
        if not isinstance(event, dict):
            return
        if self.on_event is not None:
            self.on_event(event)
        with self._cond:
            if self.workspace_id is None or event.get("workspace_id") == self.workspace_id:
                self._seq += 1
                self.last_event = event
                self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early when a watched event arrives."""
        if not self.connected:
            time.sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        with self._cond:
            seen = self._seq
            while self._seq == seen and self.connected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def close(self) -> None:
        self._stop.set()
        if self._conn is not None:
            try:
                self._conn.close()
            except (OSError, WebSocketException):
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)


@dataclass(frozen=True, slots=True)
class TerminalResult:
    ok: bool
    detail: str
    output_tail: str = ""


def terminal_probe(ws_url: str, headers: dict[str, str], timeout: float) -> TerminalResult:
    """Open the terminal websocket, run a command printing a nonce, read it back."""
    left, right = secrets.token_hex(4).upper(), secrets.token_hex(4).upper()
    nonce = f"E2E{left}-{right}"
    command = f"printf 'E2E%s-%s\\n' {left} {right}\n"
    deadline = time.monotonic() + timeout
    output = ""
    try:
        with connect(ws_url, additional_headers=headers, open_timeout=min(timeout, 10.0),
                     close_timeout=1, max_size=2**20) as conn:
            conn.send(command)
            while time.monotonic() < deadline:
                try:
                    frame = conn.recv(timeout=max(deadline - time.monotonic(), 0.01))
                except TimeoutError:
                    break
                chunk = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
                if isinstance(frame, str) and frame.startswith("Error:"):
                    return TerminalResult(False, frame.strip(), output[-200:])
                output += chunk
                if nonce in output:
                    try:
                        conn.send("exit\n")
                    except (OSError, WebSocketException):
                        pass
                    return TerminalResult(True, nonce, output[-200:])
    except (OSError, WebSocketException, TimeoutError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        detail = f"upgrade rejected (HTTP {status})" if status else f"{type(exc).__name__}: {exc}"
        return TerminalResult(False, detail, output[-200:])
    return TerminalResult(False, f"nonce {nonce} not read back within {timeout:.0f}s", output[-200:])
