r"""Multi-pattern matching behind one small interface.

    matcher = compile_matcher(patterns)     # once per run
    matcher.matches(text) -> list[int]      # indices of the patterns that match, ascending

Invariant: every implementation returns exactly the indices ``i`` for which
``re.search(patterns[i].regex, text, flags)`` finds a match. The pure-Python path here
gets its speed from a literal prefilter: for each pattern it derives literals of which
at least one must occur in any match (case-folded), checks them with ``in`` against the
case-folded line, and runs the real regexes only for patterns whose literal occurred.
Patterns without such a literal but anchored with a fixed first character (``^\[``) are
tried only on lines starting with it. A faster engine (hyperscan, issue 7) can be slotted in by providing another class with
the same ``matches`` method and choosing it in ``compile_matcher``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

try:  # Python 3.11+: the parser moved
    import re._parser as sre_parse  # type: ignore[import-not-found]
    import re._constants as sre_constants  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MIN_LITERAL = 3


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: str
    ignore_case: bool = False


class Matcher(Protocol):
    def matches(self, text: str) -> list[int]: ...


class PatternError(ValueError):
    """A pattern does not compile; message names the pattern."""


def compile_matcher(patterns: list[Pattern]) -> Matcher:
    return PrefilterMatcher(patterns)


class PrefilterMatcher:
    """Pure-Python matcher: literal prefilter, then ``re`` on candidate lines only."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = list(patterns)
        self._compiled: list[re.Pattern[str]] = []
        for p in self.patterns:
            try:
                self._compiled.append(re.compile(p.regex, re.IGNORECASE if p.ignore_case else 0))
            except re.error as exc:
                raise PatternError(f"pattern {p.regex!r} does not compile: {exc}") from None
        self._always: list[int] = []                 # patterns without a literal or a prefix
        self._by_prefix: dict[str, list[int]] = {}   # anchored patterns without a literal
        self._by_literal: dict[str, list[int]] = {}
        for index, p in enumerate(self.patterns):
            literals = required_literals(p.regex)
            if literals:
                for lit in literals:
                    self._by_literal.setdefault(lit, []).append(index)
                continue
            prefix = required_prefix(p.regex, p.ignore_case)
            if prefix:
                self._by_prefix.setdefault(prefix, []).append(index)
            else:
                self._always.append(index)
        # Checked with ``in`` one by one: measured faster here than one big alternation regex
        # (Python's ``re`` tries every alternative at every position). ASCII lines skip the
        # literals that contain non-ASCII characters (✅, ❌, →).
        ordered = sorted(self._by_literal, key=len, reverse=True)
        self._ascii_items = [(lit, self._by_literal[lit]) for lit in ordered if lit.isascii()]
        self._all_items = [(lit, self._by_literal[lit]) for lit in ordered]

    def matches(self, text: str) -> list[int]:
        candidates: set[int] = set(self._always)
        if text:
            by_prefix = self._by_prefix.get(text[0])
            if by_prefix:
                candidates.update(by_prefix)
        if text.isascii():
            folded, items = text.lower(), self._ascii_items
        else:
            folded, items = text.casefold(), self._all_items
        hits = [idxs for lit, idxs in items if lit in folded]
        for idxs in hits:
            candidates.update(idxs)
        if not candidates:
            return []
        compiled = self._compiled
        return [i for i in sorted(candidates) if compiled[i].search(text)]


def _weight(literal: str) -> int:
    """How selective a literal is: a non-ASCII character (✅, ❌, →) counts as three."""
    return sum(1 if ch.isascii() else 3 for ch in literal)


def required_prefix(regex: str, ignore_case: bool = False) -> str | None:
    """The exact first character of every match of a ``^``-anchored pattern, or None."""
    if ignore_case:
        return None
    try:
        parsed = list(sre_parse.parse(regex))
    except Exception:  # noqa: BLE001
        return None
    if parsed.__len__() < 2 or parsed[0][0] is not sre_constants.AT or parsed[0][1] is not sre_constants.AT_BEGINNING:
        return None
    op, av = parsed[1]
    if op is sre_constants.LITERAL:
        return chr(av)
    return None


def _fold(text: str) -> str:
    return text.casefold() if not text.isascii() else text.lower()


def required_literals(regex: str) -> list[str] | None:
    """Literals (case-folded) of which at least one occurs in every match, or None.

    Conservative: returns None whenever it is unsure, which only costs speed.
    """
    try:
        parsed = sre_parse.parse(regex)
    except Exception:  # noqa: BLE001 - the compile step reports real errors
        return None
    if parsed.state.flags & (sre_constants.SRE_FLAG_VERBOSE):
        return None
    found = _seq_literals(list(parsed))
    if not found:
        return None
    return sorted({_fold(x) for x in found})


def _seq_literals(items: list) -> list[str] | None:  # noqa: ANN001
    """Best literal set for a sequence: the longest run, or a branch's any-of set."""
    best: list[str] | None = None
    best_score = 0
    run: list[str] = []

    def flush() -> None:
        nonlocal best, best_score, run
        s = "".join(run)
        if _weight(s) >= MIN_LITERAL and _weight(s) > best_score:
            best, best_score = [s], _weight(s)
        run = []

    for op, av in items:
        if op is sre_constants.LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub: list[str] | None = None
        if op is sre_constants.SUBPATTERN:
            sub = _seq_literals(list(av[-1]))
        elif op is sre_constants.BRANCH:
            alts = [_seq_literals(list(branch)) for branch in av[1]]
            if all(alts):
                sub = [lit for alt in alts for lit in alt]  # type: ignore[union-attr]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and av[0] >= 1:
            sub = _seq_literals(list(av[2]))
        if sub:
            score = min(_weight(s) for s in sub)
            if score > best_score:
                best, best_score = sub, score
    flush()
    return best
