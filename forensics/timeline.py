"""Stage 4: per-source events -> one timeline in time order.

Invariants:
- Events with a timestamp are ordered by it; an event without one keeps its place in
  its own file (it sorts with the nearest earlier timestamped event of the same source,
  or the next one if none came before). Sources without any timestamp follow, in the
  order given, in file order.
- Ordering is stable: ties keep (source order, line number, signature order).
- ``collapse`` gives one entry per (source, line) for display; the full list still
  feeds the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from forensics.model import Event

# Which kind names a line on the timeline when several signatures matched it.
KIND_RANK = {
    "step-fail": 0, "run-fail": 0, "ci-error": 1, "ci-step-fail": 1, "job-fail": 2, "exit-nonzero": 2,
    "run-pass": 1, "run-skip": 1, "step-start": 4, "ci-step-start": 5, "step-pass": 4, "ci-step-pass": 6,
}


def _effective_times(events: Sequence[Event]) -> list[datetime | None]:
    times: list[datetime | None] = [e.ts for e in events]
    last: datetime | None = None
    for i, ts in enumerate(times):
        if ts is None:
            times[i] = last
        else:
            last = ts
    nxt: datetime | None = None
    for i in range(len(times) - 1, -1, -1):
        if times[i] is None:
            times[i] = nxt
        else:
            nxt = times[i] if events[i].ts is not None else nxt
    return times


def merge(per_source: Sequence[Sequence[Event]]) -> list[Event]:
    """All events of all sources in one time-ordered list (see invariants)."""
    keyed: list[tuple[int, datetime, int, int, int, Event]] = []
    for s_index, events in enumerate(per_source):
        times = _effective_times(events)
        for n, (event, eff) in enumerate(zip(events, times)):
            if eff is None:
                keyed.append((1, datetime.min, s_index, event.line, n, event))
            else:
                keyed.append((0, eff, s_index, event.line, n, event))
    keyed.sort(key=lambda k: k[:5])
    return [k[5] for k in keyed]


def collapse(events: Sequence[Event]) -> list[Event]:
    """One event per (source, line): a failure kind first, then hypothesis evidence, then structure."""
    best: dict[tuple[str, int], Event] = {}
    order: list[tuple[str, int]] = []
    for e in events:
        key = (e.source, e.line)
        if key not in best:
            best[key] = e
            order.append(key)
        elif _rank(e) < _rank(best[key]):
            best[key] = e
    return [best[k] for k in order]


FAIL_KINDS = {"step-fail", "run-fail", "ci-error", "ci-step-fail"}


def _rank(e: Event) -> tuple[int, int]:
    if e.kind in FAIL_KINDS:
        return (0, KIND_RANK.get(e.kind, 9))
    if e.hypothesis:
        return (1 if e.direction == "for" else 2, 0)
    return (3, KIND_RANK.get(e.kind, 9))
