"""Waiting well: one place for every wait of the suite.

Invariants:
- A wait polls with tenacity (exponential backoff + jitter, capped by `Pace`), and its sleep is
  `EventFeed.sleep`, so a platform event for the watched workspace ends the sleep at once.
- A probe returns the result when done, raises `Pending` to keep waiting (transient HTTP 0/404/
  409/429/5xx, a non-final status) and `Stop` to end at once (401/403, other 4xx, a terminal
  status). Budgets end a wait with `WaitTimeout` carrying the last observed state.
- Long waits print progress lines (elapsed, last status) at `Pace.progress_every`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from e2e.client import Reply
from e2e.options import Pace
from e2e.runlog import RunLog

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({0, 404, 409, 429, 500, 502, 503, 504})


class Pending(Exception):
    """Not there yet; `state` is what the last probe saw (for progress and timeout messages)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class Stop(Exception):
    """Deterministic failure: do not retry."""


class WaitTimeout(Exception):
    def __init__(self, elapsed: float, state: str) -> None:
        super().__init__(f"timed out after {elapsed:.1f}s (last: {state})")
        self.elapsed = elapsed
        self.state = state


def classify_http(reply: Reply, what: str) -> None:
    """Raise Pending for transient replies and Stop for deterministic ones; return on 2xx."""
    if reply.ok:
        return
    if reply.status in TRANSIENT_STATUSES:
        raise Pending(f"http={reply.status or '000'} {reply.error or reply.text[:120]}".strip())
    raise Stop(f"{what} returned {reply.describe()}")


@dataclass(slots=True)
class Waiter:
    pace: Pace
    log: RunLog
    sleep: Callable[[float], None] = time.sleep

    def until(self, probe: Callable[[], T], budget: float, what: str) -> T:
        started = time.monotonic()
        last_progress = started
        last_state = {"value": "no answer yet"}

        def before_sleep(state: RetryCallState) -> None:
            nonlocal last_progress
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, Pending):
                last_state["value"] = exc.state
            now = time.monotonic()
            if now - last_progress >= self.pace.progress_every:
                last_progress = now
                self.log.progress(f"waiting for {what}: elapsed={now - started:.0f}s last={last_state['value']}")

        retrying = Retrying(
            retry=retry_if_exception_type(Pending),
            wait=wait_exponential_jitter(multiplier=self.pace.poll_base, max=self.pace.poll_cap,
                                         jitter=self.pace.poll_base),
            stop=stop_after_delay(budget),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=False,
        )
        try:
            return retrying(probe)
        except RetryError as exc:
            inner = exc.last_attempt.exception()
            state = inner.state if isinstance(inner, Pending) else last_state["value"]
            raise WaitTimeout(time.monotonic() - started, state) from None
