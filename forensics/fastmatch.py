"""Fast path for stages 1-3 (issue 7): find the few lines worth matching without decoding the rest.

    for source, result in extract_sources(paths, catalogue, redactor):   # what analyze() uses
        ...   # result == events.extract(source.name, records.parse(source.name, source.lines()), ...)

How: a source is read in CHUNK-byte blocks of whole lines; ANSI escapes are stripped from the
block as bytes (newlines untouched); every signature and context pattern is translated into a
byte-level *superset* regex (it matches the line wherever the Python regex could match the line's
record text); the block is scanned as a whole — one hyperscan database, or on the pure-Python path
a literal prefilter (one ``re`` pass over a trie of literal windows) confirmed by the translated
regex — and only the lines hit are decoded and turned into ``records.Line``s by the engine's own
``records.parse_line``. ``events.extract`` then runs the real Python regexes on those lines, so the
results are identical by construction as long as the candidates are a superset.

Invariants (tested against the line-by-line path):
- Candidate lines are a superset of the lines on which any signature or context pattern matches
  ``Line.match_text``; each Line equals the one ``records.parse`` makes for that line (number,
  timestamp from the same clock rules, text, Run-group echo flag, match_text).
- Line numbers follow ``sources``: split on ``\\n`` only, 1-based, BOM and one trailing ``\\r``
  dropped, lines cut at ``sources.LINE_CAP`` bytes.
- Memory is one block per process (``CHUNK`` bytes, a few copies) plus the candidate lines; it
  does not grow with the input.
- Large plain files are cut into byte ranges (at newlines) and several ranges or files are scanned
  by worker processes; ranges are stitched in order (line offsets, Run-group state); a range whose
  harness clock would need state from before it is redone in order.
Engines: ``FORENSICS_MATCHER=auto|hyperscan|python|lines`` (auto = hyperscan when importable;
``lines`` = the engine's own line-by-line path). ``FORENSICS_WORKERS`` caps worker processes.
Known limits: a JSON-per-line record's decoded message is covered through literal fragments and
backslashes (a match that exists only in a float's re-rendered digits is not); a prefix dated with
non-ASCII digits is treated as valid; a match that depends on an ANSI sequence cut in half at the
64 KiB line cap is not guaranteed.
"""

from __future__ import annotations

import array
import hashlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from forensics import events as events_mod
from forensics import records, sources

try:  # Python 3.11+
    from re import _compiler as sre_compile  # type: ignore[attr-defined]
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_compile  # type: ignore[no-redef]
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

try:
    import hyperscan  # type: ignore[import-untyped]
except Exception:  # noqa: BLE001 - any import failure means "not available"
    hyperscan = None

ENV = "FORENSICS_MATCHER"
ENGINES = ("auto", "hyperscan", "python", "lines")
CHUNK = 4 << 20                  # bytes read per block
MAX_REPEAT_BOUND = 255           # larger bounds are widened (a superset)
MIN_LITERAL_BYTES = 3

NONASCII = r"[\x80-\xff]{1,4}"   # one decoded char: valid UTF-8 (2-4 bytes) or one U+FFFD (1-3 bytes)
# Non-ASCII code points that re.IGNORECASE matches against an ASCII letter (checked by a test).
FOLD_EXTRA: dict[str, tuple[bytes, ...]] = {
    "i": ("\u0130".encode(), "\u0131".encode()),
    "k": ("\u212a".encode(),),
    "s": ("\u017f".encode(),),
}
FOLD_BYTES: tuple[bytes, ...] = tuple(b for v in FOLD_EXTRA.values() for b in v)
ANSI_BYTES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
WS_ASCII = "\t\x0b\x0c\r \x1c\x1d\x1e\x1f"


class Untranslatable(ValueError):
    """The pattern cannot be turned into a byte-level superset regex."""


# ── translation: Python regex -> byte-level superset regex ─────────────────────────────────────


def _hex(b: int) -> str:
    return f"\\x{b:02x}"


def _byte_class(members: set[int]) -> str:
    if not members:
        return ""
    ordered = sorted(members)
    if len(ordered) == 1:
        return _hex(ordered[0])
    parts: list[str] = []
    start = prev = ordered[0]
    for b in ordered[1:] + [-1]:
        if b == prev + 1:
            prev = b
            continue
        parts.append(_hex(start) if start == prev else f"{_hex(start)}-{_hex(prev)}")
        start = prev = b
    return "[" + "".join(parts) + "]"


def _seq_bytes(data: bytes) -> str:
    return "".join(_hex(b) for b in data)


def _alt(options: list[str]) -> str:
    options = [o for o in options if o]
    if not options:
        raise Untranslatable("a character position that can match nothing")
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


@lru_cache(maxsize=4096)
def _ascii_members(node: tuple, flags: int) -> frozenset[int]:
    """ASCII code points (except newline) the single-character node matches under ``flags``."""
    op, av = node
    sub = sre_parse.SubPattern(sre_parse.State(), [(op, _thaw(av))])
    rx = sre_compile.compile(sub, flags)
    return frozenset(c for c in range(128) if c != 10 and rx.match(chr(c)))


def _freeze(av: Any) -> Any:
    if isinstance(av, list):
        return ("__list__", tuple(_freeze(x) for x in av))
    if isinstance(av, tuple):
        return tuple(_freeze(x) for x in av)
    return av


def _thaw(av: Any) -> Any:
    if isinstance(av, tuple) and len(av) == 2 and av[0] == "__list__":
        return [_thaw(x) for x in av[1]]
    if isinstance(av, tuple):
        return tuple(_thaw(x) for x in av)
    return av


def _ascii_only_set(op: Any, av: Any) -> bool:
    """True when an IN set can only hold ASCII members (no negation, categories or non-ASCII)."""
    if op is not C.IN:
        return False
    for item_op, item_av in av:
        if item_op is C.LITERAL and item_av < 128:
            continue
        if item_op is C.RANGE and item_av[1] < 128:
            continue
        return False
    return True


def _char_parts(op: Any, av: Any, flags: int) -> tuple[set[int], list[str], bool]:
    """(ASCII members, exact non-ASCII byte sequences, may match any non-ASCII char)."""
    ignore_case = bool(flags & re.IGNORECASE)
    members = set(_ascii_members((op, _freeze(av)), flags))
    extras: list[str] = []
    if op is C.LITERAL and av >= 128 and not ignore_case and av != 0xFFFD and not 0xD800 <= av < 0xE000:
        extras.append(_seq_bytes(chr(av).encode("utf-8")))
    elif op is C.LITERAL and av >= 128 and ignore_case and av != 0xFFFD and not 0xD800 <= av < 0xE000:
        extras.extend(_seq_bytes(v.encode("utf-8")) for v in _case_variants(av) if ord(v) >= 128)
    elif (op is C.LITERAL and av < 128) or _ascii_only_set(op, av):
        if ignore_case:
            for letter, extra in FOLD_EXTRA.items():
                if ord(letter) in members or ord(letter.upper()) in members:
                    extras.extend(_seq_bytes(e) for e in extra)
    else:
        return members, [], True
    return members, extras, False


def _char(op: Any, av: Any, flags: int) -> str:
    """One character position -> byte-level superset."""
    members, extras, any_nonascii = _char_parts(op, av, flags)
    return _alt([_byte_class(members), *extras, NONASCII if any_nonascii else ""])


def _char_repeat(op: Any, av: Any, flags: int, lo: int, hi: int) -> str:
    """A repeated character position as ONE byte class (no nested quantifiers, so a backtracking
    ``re`` cannot blow up on long non-ASCII runs): non-ASCII bytes join the class and the upper
    bound is scaled by 4 (a character is 1-4 bytes)."""
    members, extras, any_nonascii = _char_parts(op, av, flags)
    if extras or any_nonascii:
        members |= set(range(0x80, 0x100))
        if not (hi is C.MAXREPEAT or hi == C.MAXREPEAT):
            hi = hi * 4
    if not members:
        raise Untranslatable("a character position that can match nothing")
    cls = _byte_class(members)
    if not cls.startswith("["):
        cls = f"(?:{cls})"
    return _repeat(lo, hi, cls, wrap=False)


@lru_cache(maxsize=256)
def _case_variants(cp: int) -> tuple[str, ...]:
    """Every character re.IGNORECASE lets the literal ``chr(cp)`` match (exact, by search)."""
    return tuple(sorted(set(re.compile(re.escape(chr(cp)), re.IGNORECASE).findall(_all_chars()))))


@lru_cache(maxsize=1)
def _all_chars() -> str:
    """Every code point but the surrogates, as one string (built without 1.1M small objects)."""
    codes = array.array("I", range(0xD800))
    codes.extend(range(0xE000, 0x110000))
    if codes.itemsize != 4:  # pragma: no cover - exotic platforms
        return "".join(map(chr, codes))
    return codes.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")


START_EXTRA = ""  # filled below: optional BOM and runner prefix before a start anchor


def _seq(items: list, flags: int) -> str:
    return "".join(_node(op, av, flags) for op, av in items)


def _repeat(lo: int, hi: int, body: str, wrap: bool = True) -> str:
    if not body:
        return ""
    lo = min(lo, MAX_REPEAT_BOUND)
    unbounded = hi is C.MAXREPEAT or hi == C.MAXREPEAT or hi > MAX_REPEAT_BOUND
    if (lo, unbounded) == (0, True):
        q = "*"
    elif (lo, unbounded) == (1, True):
        q = "+"
    elif unbounded:
        q = f"{{{lo},}}"
    elif (lo, hi) == (0, 1):
        q = "?"
    elif lo == hi:
        q = f"{{{lo}}}"
    else:
        q = f"{{{lo},{hi}}}"
    return f"(?:{body}){q}" if wrap else f"{body}{q}"


def _node(op: Any, av: Any, flags: int) -> str:
    if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY):
        return _char(op, av, flags)
    if op is C.AT:
        if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_BEGINNING_LINE):
            return "^" + START_EXTRA
        return ""  # $, \Z, \b, \B: dropped (a superset; also covers rstrip and the line cap)
    if op is C.BRANCH:
        alts = [_seq(list(branch), flags) for branch in av[1]]
        kept = list(dict.fromkeys(a for a in alts if a))
        if not kept:
            return ""
        body = "(?:" + "|".join(kept) + ")"
        return body + "?" if len(kept) < len(alts) else body  # an empty alternative: optional
    if op is C.SUBPATTERN:
        _group, add, remove, sub = av
        inner = _seq(list(sub), (flags | add) & ~remove)
        return f"(?:{inner})" if inner else ""
    if op is C.ATOMIC_GROUP:
        inner = _seq(list(av), flags)
        return f"(?:{inner})" if inner else ""
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        sub = list(sub)
        if len(sub) == 1 and sub[0][0] in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY):
            return _char_repeat(sub[0][0], sub[0][1], flags, lo, hi)
        return _repeat(lo, hi, _seq(sub, flags))
    if op is C.GROUPREF:
        return r"[^\n]*"
    if op is C.GROUPREF_EXISTS:
        _group, yes, no = av
        alts = [_seq(list(yes), flags), _seq(list(no), flags) if no else ""]
        if "" in alts:
            return "(?:" + alts[0] + ")?" if alts[0] else ""
        return "(?:" + "|".join(alts) + ")"
    if op in (C.ASSERT, C.ASSERT_NOT):
        return ""
    raise Untranslatable(f"unsupported regex construct {op}")


def _trim_tail(items: list) -> list:
    """Drop what only lengthens a match at its end (``$``, lookarounds, ``X*``, ``X?``, ``.*X``;
    ``X{m,n}`` becomes ``X``): a superset, and hyperscan then reports one end offset per match
    instead of one per repetition."""
    items = list(items)
    while items:
        op, av = items[-1]
        if op is C.AT and av not in (C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_BEGINNING_LINE):
            items.pop()
        elif op in (C.ASSERT, C.ASSERT_NOT):
            items.pop()
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if av[0] == 0:
                items.pop()
            else:
                items[-1:] = list(av[2])
        elif len(items) >= 2 and _unbounded(items[-2]):
            del items[-2:]   # "….*X": X only moves the end further right
        else:
            break
    return items


def _unbounded(item: tuple) -> bool:
    op, av = item
    return op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and (av[1] is C.MAXREPEAT or av[1] == C.MAXREPEAT)


def translate(pattern: str, ignore_case: bool = False, anchored: bool = True) -> str:
    """Byte-level regex (``\\xHH`` escapes only) matching a superset of the lines whose record text
    ``re.search(pattern, text)`` matches. ``anchored=False`` drops start anchors (and the optional
    runner prefix they allow), a wider superset that scans much faster. Raises Untranslatable."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        parsed = sre_parse.parse(pattern, flags)
    except Exception as exc:  # noqa: BLE001 - not `re` syntax: no fast path for it
        raise Untranslatable(f"cannot parse: {exc}") from None
    flags |= parsed.state.flags
    if flags & re.VERBOSE:
        flags &= ~re.VERBOSE  # the parser has already dropped whitespace and comments
    items = _trim_tail(list(parsed))
    out = _seq(items, flags)
    if not anchored:
        out = out.replace("^" + START_EXTRA, "")
    if not out or out == "^" + START_EXTRA or re.fullmatch(r"(\(\?:\)[?*]?)*", out):
        raise Untranslatable("matches the empty string")
    return out


def _prefix_superset() -> str:
    """Optional BOM and runner timestamp prefix that records.parse_line removes before matching."""
    parsed = sre_parse.parse(records.RUNNER_PREFIX.pattern.lstrip("^"))
    return r"(?:\xef\xbb\xbf)?(?:" + _seq(list(parsed), parsed.state.flags) + ")?"


START_EXTRA = _prefix_superset()


# ── literals (pure-Python path and JSON fragments) ─────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Literal:
    text: bytes          # lower-cased when caseless
    caseless: bool


Cost = Any  # (option: list[Literal]) -> sortable; lower is better


def _by_length(option: list[Literal]) -> tuple[int, ...]:
    return (-min(len(c.text) for c in option),)


def required_literals(pattern: str, ignore_case: bool = False, cost: Cost = _by_length) -> list[Literal] | None:
    """Literals of which at least one occurs (as bytes of the stripped line) in every match, or
    None. Among the valid choices the one with the lowest ``cost`` wins (default: longest)."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        parsed = sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001
        return None
    return _req_seq(list(parsed), flags | parsed.state.flags, cost)


def _run_literals(run: list[int], flags: int) -> list[Literal]:
    """Split a run of literal code points into byte literals the prefilter can search."""
    caseless = bool(flags & re.IGNORECASE)
    pieces: list[Literal] = []
    current = ""
    for cp in run:
        ch = chr(cp)
        bad = cp == 0xFFFD or 0xD800 <= cp < 0xE000 or cp == 0x1B or ch == "\n" or (caseless and cp >= 128)
        if bad:
            if current:
                pieces.append(Literal(current.lower().encode() if caseless else current.encode(), caseless))
            current = ""
            continue
        current += ch
    if current:
        pieces.append(Literal(current.lower().encode() if caseless else current.encode("utf-8"), caseless))
    return pieces


SMALL_CLASS = 4      # a class this small continues a literal as alternatives ("run[ _]id")
MAX_RUNS = 8


def _small_class(op: Any, av: Any, flags: int) -> list[int] | None:
    if op is C.IN and _ascii_only_set(op, av):
        members = sorted(_ascii_members((op, _freeze(av)), flags))
        if flags & re.IGNORECASE:
            members = sorted({ord(chr(c).lower()) for c in members})
            if any(chr(c) in "iks" for c in members):
                return None
        if 0 < len(members) <= SMALL_CLASS:
            return members
    return None


def all_requirements(pattern: str, ignore_case: bool = False) -> list[list[Literal]]:
    """Every literal set the pattern needs (each: at least one of its literals occurs in a match)."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        parsed = sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001
        return []
    found: list[list[Literal]] = []
    _req_seq(list(parsed), flags | parsed.state.flags, _by_length, found)
    return found


def _req_seq(items: list, flags: int, cost: Cost = _by_length, collect: list | None = None) -> list[Literal] | None:
    options: list[list[Literal]] = [] if collect is None else collect

    def consider(cands: list[Literal] | None) -> None:
        if cands and min(len(c.text) for c in cands) >= MIN_LITERAL_BYTES:
            options.append(cands)

    def flush(runs: list[list[int]]) -> None:
        if len(runs) == 1:
            for piece in _run_literals(runs[0], flags):
                consider([piece])
            return
        alts = [_run_literals(r, flags) for r in runs]
        if all(len(a) == 1 for a in alts):
            consider([a[0] for a in alts])
        # the common literal before the alternatives is still required on its own
        common = _run_literals(runs[0][: _common_prefix(runs)], flags)
        for piece in common:
            consider([piece])

    runs: list[list[int]] = [[]]
    for op, av in items:
        if op is C.LITERAL:
            runs = [r + [av] for r in runs]
            continue
        small = _small_class(op, av, flags)
        if small is not None and runs[0] and len(runs) * len(small) <= MAX_RUNS:
            runs = [r + [c] for r in runs for c in small]
            continue
        flush(runs)
        runs = [[]]
        if small is not None:
            runs = [[c] for c in small]
            continue
        if op is C.SUBPATTERN:
            _g, add, remove, sub = av
            consider(_req_seq(list(sub), (flags | add) & ~remove, cost))
        elif op is C.ATOMIC_GROUP:
            consider(_req_seq(list(av), flags, cost))
        elif op is C.BRANCH:
            alts = [_req_seq(list(b), flags, cost) for b in av[1]]
            if all(alts):
                consider([lit for alt in alts for lit in alt])  # type: ignore[union-attr]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            consider(_req_seq(list(av[2]), flags, cost))
    flush(runs)
    if not options:
        return None
    return min(options, key=cost)


def _common_prefix(runs: list[list[int]]) -> int:
    n = 0
    while all(len(r) > n and r[n] == runs[0][n] for r in runs):
        n += 1
    return n


def _fragment(lit: Literal) -> bytes:
    """Longest whitespace-free piece of a literal: survives JSON value joining."""
    pieces = re.split(rb"[\s]+", lit.text)
    return max(pieces, key=len)


def _literal_superset(lit: bytes, caseless: bool) -> str:
    if not caseless:
        return _seq_bytes(lit)
    text = lit.decode("utf-8", "replace")
    return "".join(_char(C.LITERAL, ord(ch), re.IGNORECASE) for ch in text)


# ── JSON-per-line records: match_text carries the decoded message ──────────────────────────────

_D = r"[0-9\x80-\xff]"   # a byte of \d in str mode (Unicode digits are 2-4 non-ASCII bytes)


def _invalid_prefix_date() -> str:
    """Runner-prefix dates the regex accepts but datetime() rejects (records then treats the line
    as unprefixed). ASCII digits; a prefix written in non-ASCII digits is a documented gap."""
    d = "[0-9]"
    y, m, day, hh, mm, ss = f"{d}{{4}}", f"{d}{{2}}", f"{d}{{2}}", f"{d}{{2}}", f"{d}{{2}}", f"{d}{{2}}"

    def shape(y: str = y, m: str = m, day: str = day, hh: str = hh, mm: str = mm, ss: str = ss) -> str:
        return f"{y}-{m}-{day}T{hh}:{mm}:{ss}"

    bad = [
        shape(y="0000"),
        shape(m="(?:00|1[3-9]|[2-9][0-9])"),
        shape(day="(?:00|3[2-9]|[4-9][0-9])"),
        shape(m="02", day="(?:29|30|31)"),
        shape(m="(?:04|06|09|11)", day="31"),
        shape(hh="(?:2[4-9]|[3-9][0-9])"),
        shape(mm="[6-9][0-9]"),
        shape(ss="[6-9][0-9]"),
    ]
    return "(?:" + "|".join(bad) + ")"


_WS = rf"[{''.join(_hex(ord(c)) for c in WS_ASCII)}\x80-\xff]"   # one byte of str.isspace() text
# Superset of lines whose lead (after an optional, possibly invalid, prefix) starts with "{".
JSON_TAIL = rf"(?:\xef\xbb\xbf)?(?:{_invalid_prefix_date()}(?:\.{_D}{{1,36}})?Z\x20?)?{_WS}*\x7b"
JSON_START = "^" + JSON_TAIL


def _json_superset(pattern: str, ignore_case: bool) -> str | None:
    """Superset regex for JSON records where the pattern might match the decoded ``match_text``
    (the record's message, its other values joined by spaces, then the raw text): a record start
    followed by a literal fragment; a bare record start for a pattern without a literal."""
    lits = required_literals(pattern, ignore_case)
    if lits is None:
        return JSON_START
    frags = sorted({_fragment(lit) for lit in lits})
    if any(not f for f in frags):
        return JSON_START
    alts = "|".join(_literal_superset(f, True) for f in frags)
    return rf"{JSON_START}[^\n]*(?:{alts})"


JSON_ESCAPE = rf"{JSON_START}[^\n]*\x5c"   # any backslash: the decoded message may differ from raw


def json_expressions(patterns: list[tuple[str, bool]], per_expression: int = 24) -> list[str]:
    """Supersets for all JSON-record candidates: a JSON record start followed by a backslash or
    any pattern's literal fragment (split over several expressions: hyperscan limits length);
    a bare JSON record start when some pattern has no fragment."""
    frags: set[bytes] = set()
    for pattern, ignore_case in patterns:
        rx = _json_superset(pattern, ignore_case)
        if rx is None:
            continue
        if rx == JSON_START:
            return [JSON_START]
        # any piece of a fragment is as necessary as the whole; 8 bytes keep the expression small
        frags.update(_fragment(lit)[:8] for lit in required_literals(pattern, ignore_case) or ())
    alts = [_literal_superset(f, True) for f in _minimal(frags)] + [r"\x5c"]
    return [rf"{JSON_START}[^\n]*(?:{'|'.join(alts[i : i + per_expression])})" for i in range(0, len(alts), per_expression)]


# ── reading blocks of whole lines ──────────────────────────────────────────────────────────────


@dataclass(slots=True)
class Block:
    """Whole lines of a source: ``raw`` ends with a newline; ``first`` is the first line's number;
    ``stripped`` is ``raw`` without ANSI escapes (the same object when there were none)."""

    raw: bytes
    first: int
    count: int
    stripped: bytes = b""
    file_start: bool = True   # line `first` == 1 is the file's first line (its BOM is dropped)
    end: int = -1             # offset in ``stripped`` after the last whole line (a partial tail may follow)
    _cursor: tuple[int, int] = (0, 0)

    def decode(self, index: int, stripped_start: int) -> str:
        number = self.first + index
        return _decode_line(self.raw_line(index, stripped_start), number if self.file_start or number != 1 else 0)

    def raw_line(self, index: int, stripped_start: int) -> bytes:
        """Raw bytes of the index-th line (0-based), given where it starts in ``stripped``.

        Without escapes the offsets agree. With them, the raw start R of the line is at or after
        both ``stripped_start`` and the last line looked up (lines are asked for in order), so
        newlines are counted from there rather than splitting the block."""
        raw = self.raw
        if self.stripped is raw:
            return raw[stripped_start : raw.find(b"\n", stripped_start)]
        if index >= self.count - 16:   # near the end (the clock's walk back): count from there
            end = raw.rfind(b"\n")
            for _ in range(self.count - 1 - index):
                end = raw.rfind(b"\n", 0, end)
            return raw[raw.rfind(b"\n", 0, end) + 1 : end]
        known_index, known_at = self._cursor
        if index < known_index:
            known_index, known_at = 0, 0
        pos = max(known_at, stripped_start)
        at_index = known_index + raw.count(b"\n", known_at, pos)
        for _ in range(index - at_index):
            pos = raw.find(b"\n", pos) + 1
        self._cursor = (index, pos)
        return raw[pos : raw.find(b"\n", pos)]


@dataclass(slots=True)
class ReadStats:
    lines: int = 0
    binary: bool = False
    long_lines: int = 0


def iter_blocks(stream: BinaryIO, stats: ReadStats, chunk: int | None = None, sniff: bool = True) -> Iterator[Block]:
    """Blocks of whole lines, numbered like sources.iter_lines. A line longer than ``chunk`` is
    kept as its first LINE_CAP+1 bytes (its text is cut at LINE_CAP anyway): memory stays bounded."""
    chunk = max(chunk or CHUNK, sources.LINE_CAP + 2)   # a line filling a chunk is over the cap
    head = stream.read(sources.CHUNK) or b""
    if sniff and b"\x00" in head[: sources.BINARY_SNIFF]:
        stats.binary = True
        return
    number = 1
    pending = head
    eof = not head
    while pending or not eof:
        while not eof and len(pending) < chunk:
            data = stream.read(chunk)
            if not data:
                eof = True
                break
            pending = pending + data if pending else data
        if not pending:
            break
        last = pending.rfind(b"\n")
        if last >= 0:
            block, pending = pending[: last + 1], pending[last + 1 :]
        elif eof:
            block, pending = pending + b"\n", b""
        else:  # one line longer than a chunk: keep its head, skip to its end
            block, pending = pending[: sources.LINE_CAP + 1] + b"\n", b""
            stats.long_lines += 1
            while True:
                data = stream.read(chunk)
                if not data:
                    eof = True
                    break
                cut = data.find(b"\n")
                if cut >= 0:
                    pending = data[cut + 1 :]
                    break
        count = block.count(b"\n")
        yield Block(block, number, count)
        number += count
        stats.lines = number - 1


def iter_file_blocks(reader: _RangeReader, stats: ReadStats, chunk: int | None = None, sniff: bool = True) -> Iterator[Block]:
    """iter_blocks for a byte range of a plain file, without copying: each block is one read;
    the partial line at its end is read again as the start of the next block."""
    chunk = max(chunk or CHUNK, sources.LINE_CAP + 2)   # a line filling a chunk is over the cap
    handle, pos, end = reader.handle, reader.start, reader.end
    if sniff:
        handle.seek(pos)
        if b"\x00" in handle.read(min(sources.BINARY_SNIFF, end - pos)):
            stats.binary = True
            return
    number = 1
    while pos < end:
        handle.seek(pos)
        data = handle.read(min(chunk, end - pos))
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0 and pos + len(data) >= end:      # the last line, without a newline
            block, step = data + b"\n", len(data)
        elif cut < 0:                               # one line longer than a chunk
            block, step = data[: sources.LINE_CAP + 1] + b"\n", len(data)
            stats.long_lines += 1
            while pos + step < end:
                more = handle.read(min(chunk, end - pos - step))
                if not more:
                    break
                nl = more.find(b"\n")
                if nl >= 0:
                    step += nl + 1
                    break
                step += len(more)
        else:
            block, step = data, cut + 1
        count = block.count(b"\n")
        yield Block(block, number, count)
        number += count
        pos += step
        stats.lines = number - 1


def strip_block(raw: bytes) -> bytes:
    """ANSI escapes removed; newlines (and so line numbers) untouched."""
    if b"\x1b" not in raw:
        return raw
    return ANSI_BYTES.sub(b"", raw)


# ── the clock: timestamps of harness lines depend on earlier lines ──────────────────────────────


class ClockTracker:
    """Reproduces records.Clock at any line without parsing every line.

    A line with an absolute timestamp (runner prefix, Go log, JSON, ISO) resets the clock whatever
    came before, so the state before line n is settled by the nearest such line and the few lines
    after it. When none is near, only lines that could touch the clock are replayed: they all
    contain a date- or clock-like token or a "{" (CLOCKY is a superset of them).
    """

    CLOCKY = re.compile(
        (rf"{_D}{{4,16}}[-/]{_D}{{2,8}}[-/]{_D}{{2,8}}|\x5b{_D}{{2,8}}:{_D}{{2,8}}:{_D}{{2,8}}\x5d|\x7b").encode()
    )
    WALK_BACK = 8

    def __init__(self, source: str, settled: bool = True) -> None:
        self.source = source
        self.clock = records.Clock()
        self.done = 0          # lines [0, done) of the current block are applied
        self.done_at = 0       # offset of line `done` in block.stripped
        self.settled = settled   # the state is known (start of the source, or an absolute time seen)

    def start_block(self) -> None:
        self.done, self.done_at = 0, 0

    def state_before(self, block: Block, index: int, start: int) -> records.Clock:
        """A clock with the date state after lines [0, index) of the block (``start`` = offset of
        line index); its Run-group fields are left for apply_group_state."""
        self._advance(block, index, start)
        copy = records.Clock()
        copy.day, copy.last = self.clock.day, self.clock.last
        return copy

    def finish_block(self, block: Block) -> None:
        self._advance(block, block.count, block.end)
        self.start_block()

    def _parse(self, block: Block, index: int, start: int, clock: records.Clock) -> records.Line:
        number = block.first + index
        return records.parse_line(self.source, number, block.decode(index, start), clock)

    def _advance(self, block: Block, index: int, start: int) -> None:
        if index <= self.done:
            return
        data = block.stripped
        # 1) walk back a few lines for an absolute timestamp
        j, pos = index, start
        for _ in range(self.WALK_BACK):
            if j <= self.done:
                break
            line_start = data.rfind(b"\n", 0, pos - 1) + 1
            j -= 1
            probe = records.Clock()
            if self._parse(block, j, line_start, probe).ts is not None:
                self.settled = True
                self.clock = records.Clock()
                self._parse(block, j, line_start, self.clock)
                at = data.find(b"\n", line_start) + 1
                for k in range(j + 1, index):
                    self._parse(block, k, at, self.clock)
                    at = data.find(b"\n", at) + 1
                self.done, self.done_at = index, start
                return
            pos = line_start
        # 2) replay only the lines that could touch the clock
        i, at = self.done, self.done_at
        for m in self.CLOCKY.finditer(data, self.done_at, start):
            if m.start() < at:
                continue
            i += data.count(b"\n", at, m.start())
            line_start = data.rfind(b"\n", 0, m.start()) + 1
            self._parse(block, i, line_start, self.clock)
            if not self.settled and self._parse(block, i, line_start, records.Clock()).ts is not None:
                self.settled = True
            at = data.find(b"\n", m.start()) + 1
            i += 1
        self.done, self.done_at = index, start


def _decode_line(raw: bytes, number: int) -> str:
    capped = len(raw) > sources.LINE_CAP
    return sources._decode(bytearray(raw[: sources.LINE_CAP]), number, capped)


# ── scanners ───────────────────────────────────────────────────────────────────────────────────


@dataclass(slots=True)
class ScanStats:
    engine: str = ""
    blocks: int = 0
    candidates: int = 0
    notes: list[str] = field(default_factory=list)


class Scanner:
    """Finds candidate lines of one source; subclasses provide ``hits(stripped) -> line starts``."""

    name = "base"

    def __init__(self, patterns: list[tuple[str, bool]]) -> None:
        self.patterns = patterns

    def hits(self, stripped: bytes) -> list[int]:  # offsets inside lines that may match
        raise NotImplementedError

    def scan_stream(self, stream: BinaryIO, read: ReadStats, scan: ScanStats, source: str, first: bool = True) -> Iterator[Candidate]:
        """Candidates of one stream (a whole source, or a byte range of it when ``first`` is
        False: numbering then restarts at 1 and the clock starts unknown)."""
        tracker = ClockTracker(source, settled=first)
        blocks = iter_file_blocks(stream, read, sniff=first) if isinstance(stream, _RangeReader) else iter_blocks(stream, read, sniff=first)
        for block in blocks:
            scan.blocks += 1
            block.file_start = first
            block.stripped = strip_block(block.raw)
            block.end = block.stripped.rfind(b"\n") + 1
            tracker.start_block()
            end = block.end
            offsets = sorted({o for o in self.hits(block.stripped) if o < end})
            if offsets:
                yield from self._candidates(block, offsets, tracker, scan)
            tracker.finish_block(block)

    def _candidates(self, block: Block, offsets: list[int], tracker: ClockTracker, scan: ScanStats) -> Iterator[Candidate]:
        data = block.stripped
        seen_start = -1
        index = 0
        counted_to = 0
        for off in offsets:
            start = data.rfind(b"\n", 0, off) + 1 if off > 0 else 0
            if start == seen_start:
                continue
            seen_start = start
            index += data.count(b"\n", counted_to, start)
            counted_to = start
            number = block.first + index
            text = block.decode(index, start)
            line = records.parse_line(tracker.source, number, text, records.Clock())
            scan.candidates += 1
            if line.ts is None and records.HARNESS_CLOCK.match(line.text.lstrip()):
                clock = tracker.state_before(block, index, start)
                yield Candidate(number, text, True, clock.day, clock.last, not tracker.settled)
            else:
                yield Candidate(number, text)


@dataclass(slots=True)
class Candidate:
    """A line worth matching, with the clock state it needs (harness clock lines only)."""

    number: int
    text: str
    clocked: bool = False
    day: Any = None
    last: Any = None
    unsettled: bool = False   # needed a clock state from before this byte range


def assemble(source: str, candidates: Iterator[Candidate], offset: int = 0, groups: GroupTracker | None = None) -> Iterator[records.Line]:
    """Candidates -> the Lines records.parse makes for them (Run-group state tracked in order)."""
    groups = groups or GroupTracker()
    for c in candidates:
        number = offset + c.number
        clock = records.Clock()
        if c.clocked:
            clock.day, clock.last = c.day, c.last
        groups.apply(clock, number)
        line = records.parse_line(source, number, c.text, clock)
        groups.seen(clock, number)
        yield line


class GroupTracker:
    """GitHub "##[group]Run" blocks (records marks their lines as echo). Every marker line is a
    candidate, so the candidates seen in order are enough to know the state."""

    def __init__(self) -> None:
        self.start: int | None = None
        self.closed = True

    def apply(self, clock: records.Clock, number: int) -> None:
        """Set the Run-group fields records.parse_line would have before line ``number``."""
        clock.in_run_group, clock.group_lines = False, 0
        if self.start is None or self.closed:
            return
        between = number - self.start - 1          # lines since the start, none a marker
        if between <= records.RUN_GROUP_CAP + 1:
            clock.in_run_group, clock.group_lines = True, between

    def seen(self, clock: records.Clock, number: int) -> None:
        """Record what line ``number`` did to the state (``clock`` is after parsing it)."""
        if clock.in_run_group and clock.group_lines == 0:
            self.start, self.closed = number, False
        elif not clock.in_run_group:
            self.closed = True


class HyperscanScanner(Scanner):
    """All translated patterns in one hyperscan block-mode database, scanned over each block.

    JSON records are gated: the main database reports a line that *starts* a JSON record (id
    GATE); only blocks with such a line get a second scan with the JSON-fragment database.
    Compiled databases are cached on disk (``FORENSICS_CACHE`` or ``$XDG_CACHE_HOME/forensics``),
    keyed by the patterns, this module's source and the hyperscan version: compiling costs about
    a second, loading a millisecond."""

    name = "hyperscan"
    GATE = 1

    def __init__(self, patterns: list[tuple[str, bool]]) -> None:
        super().__init__(patterns)
        if hyperscan is None:
            raise RuntimeError("hyperscan is not importable")
        key = _cache_key(patterns)
        self.db = _load_cached(key + "-main")
        self.json_db = _load_cached(key + "-json")
        if self.db is None or self.json_db is None:
            main = tuple(sorted(self.translations()))
            self.db = _compile_db(main + (JSON_START.encode("ascii"),), gate=len(main))
            self.json_db = _compile_db(tuple(sorted(x.encode("ascii") for x in json_expressions(self.patterns))))
            _store_cached(key + "-main", self.db)
            _store_cached(key + "-json", self.json_db)
        self.scratch = hyperscan.Scratch(self.db)
        self.json_scratch = hyperscan.Scratch(self.json_db)

    def translations(self) -> set[bytes]:
        """One unanchored superset per pattern, the Run-group markers, backslashes in JSON."""
        expressions: set[bytes] = {GROUP_MARKERS, JSON_ESCAPE.encode("ascii")}
        for pattern, ignore_case in self.patterns:
            try:
                expressions.add(translate(pattern, ignore_case, anchored=False).encode("ascii"))
            except Untranslatable:
                expressions.add(EVERY_LINE)
        return expressions

    def hits(self, stripped: bytes) -> list[int]:
        out: list[int] = []
        add = out.append
        gate: list[int] = []

        def on_match(ident: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            if ident == self.GATE:
                gate.append(end)
            else:
                add(end - 1)

        self.db.scan(stripped, match_event_handler=on_match, scratch=self.scratch)
        if gate:
            self.json_db.scan(stripped, match_event_handler=on_match, scratch=self.json_scratch)
        return out


def _cache_dir() -> Path:
    base = os.environ.get("FORENSICS_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "forensics")
    return Path(base)


def _cache_key(patterns: list[tuple[str, bool]]) -> str:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(repr(getattr(hyperscan, "__version__", "")).encode())
    digest.update(repr(list(patterns)).encode())
    return digest.hexdigest()[:32]


def _load_cached(key: str) -> Any:
    try:
        data = (_cache_dir() / f"hs-{key}.db").read_bytes()
        return hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK)
    except Exception:  # noqa: BLE001 - missing or unusable cache: compile instead
        return None


def _store_cached(key: str, db: Any) -> None:
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".hs-", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(hyperscan.dumpb(db))
        os.replace(tmp, folder / f"hs-{key}.db")
    except Exception:  # noqa: BLE001 - a read-only home only costs the compile next time
        pass


EVERY_LINE = rb"^[^\n]"
# Lines that open or close GitHub's Run group (records tracks them for Line.echo).
MARKER_LITERALS = (b"##[group]Run ", b"::group::Run ", b"##[endgroup]", b"::endgroup::")
GROUP_MARKERS = b"(?:" + b"|".join(_seq_bytes(m).encode() for m in MARKER_LITERALS) + b")"   # fallback for a pattern with no safe translation: every non-empty line


def _compile_db(expressions: tuple[bytes, ...], gate: int | None = None) -> Any:
    """One database (ids: 0, or GATE for the expression at index ``gate``). An expression
    hyperscan rejects (e.g. it can match the empty string) is replaced by EVERY_LINE."""
    flags = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_PREFILTER
    try:
        return _hs_compile(expressions, flags, gate)
    except hyperscan.error:
        kept = []
        for i, expr in enumerate(expressions):
            try:
                _hs_compile((expr,), flags)
                kept.append(expr)
            except hyperscan.error:
                kept.append(EVERY_LINE if i != gate else expr)
        return _hs_compile(tuple(kept), flags, gate)


def _hs_compile(expressions: tuple[bytes, ...], flags: int, gate: int | None = None) -> Any:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    ids = [HyperscanScanner.GATE if i == gate else 0 for i in range(len(expressions))]
    db.compile(expressions=list(expressions), ids=ids, flags=[flags] * len(expressions))
    return db


class PythonScanner(Scanner):
    """Pure-Python candidates: one ``re`` pass per block over a trie of literal windows (each
    pattern's required literal, cut to 8 bytes starting at its rarest byte), then the pattern's
    byte-level superset regex on just the lines that were hit. Patterns without a usable literal
    are searched with their superset regex over the whole block."""

    name = "python"

    def __init__(self, patterns: list[tuple[str, bool]]) -> None:
        super().__init__(patterns)
        self.exact_lits: dict[bytes, set[int]] = {}
        self.folded_lits: dict[bytes, set[int]] = {}
        self.checks: list[re.Pattern[bytes] | None] = []
        self.needs: list[list[list[Literal]]] = []   # per pattern: literal sets a line must hold
        wide: list[str] = []
        caseless: set[int] = set()
        self.json_any = False
        json_frags: set[bytes] = set()
        for index, (pattern, ignore_case) in enumerate(patterns):
            try:
                self.checks.append(re.compile(translate(pattern, ignore_case).encode("ascii"), re.MULTILINE))
            except (Untranslatable, re.error):
                self.checks.append(None)
            self.needs.append(all_requirements(pattern, ignore_case))
            lits = required_literals(pattern, ignore_case)
            if lits:
                for lit in lits:
                    target = self.folded_lits if lit.caseless else self.exact_lits
                    target.setdefault(lit.text, set()).add(index)
                    json_frags.add(_fragment(lit).lower())
                    if lit.caseless:
                        caseless.add(index)
            else:
                try:
                    wide.append(translate(pattern, ignore_case, anchored=False))
                except Untranslatable:
                    wide.append(r"[^\n]")  # every non-empty line is a candidate
                if _json_superset(pattern, ignore_case) is not None:
                    self.json_any = True
        self.caseless = caseless   # re.IGNORECASE letters outside ASCII (Kelvin sign, long s, dotless i)
        self.json_frags = sorted(_minimal(json_frags))
        self.wide = re.compile("|".join(wide).encode("ascii"), re.MULTILINE) if wide else None
        self.json_rx = re.compile(rb"\n" + JSON_TAIL.encode("ascii"))   # (line 0 is tried apart)
        self._tries: tuple[Any, dict[bytes, set[int]], Any, dict[bytes, set[int]]] | None = None
        self._checked = 0

    def _prepare(self, sample: bytes) -> tuple[Any, dict[bytes, set[int]], Any, dict[bytes, set[int]]]:
        """Choose each pattern's literals, and their windows, by how rare they are in the first block."""
        if self._tries is None:
            piece = _sample(sample)
            lowered = piece.lower()

            def rarity(option: list[Literal]) -> tuple[int, int]:
                hits = sum((lowered if lit.caseless else piece).count(lit.text) for lit in option)
                return (hits, -min(len(lit.text) for lit in option))

            self.exact_lits, self.folded_lits = {}, {}
            for index, (pattern, ignore_case) in enumerate(self.patterns):
                for lit in required_literals(pattern, ignore_case, rarity) or ():
                    target = self.folded_lits if lit.caseless else self.exact_lits
                    target.setdefault(lit.text, set()).add(index)
            for special in FOLD_BYTES:
                self.exact_lits.setdefault(special, set()).update(self.caseless)
            for marker in MARKER_LITERALS:
                self.exact_lits.setdefault(marker, set()).add(-1)
            exact_rx, exact_map = _window_trie(self.exact_lits, piece)
            folded_rx, folded_map = _window_trie(self.folded_lits, piece.lower())
            self._tries = (exact_rx, exact_map, folded_rx, folded_map)
        return self._tries

    def hits(self, stripped: bytes) -> list[int]:
        if self._checked > REPREPARE_AFTER:
            self._tries = None   # the log changed character: choose literals again on this block
        self._checked = 0
        exact_rx, exact_map, folded_rx, folded_map = self._prepare(stripped)
        out: list[int] = []
        accepted: set[int] = set()
        rejected: dict[int, set[int]] = {}
        for rx, table, data in ((exact_rx, exact_map, stripped), (folded_rx, folded_map, stripped.lower() if folded_rx else b"")):
            if rx is None:
                continue
            search = rx.search
            m = search(data)
            while m is not None:
                # overlapping windows: resume one byte on, or at the next line once accepted
                pos = m.start()
                start = stripped.rfind(b"\n", 0, pos) + 1
                resume = pos + 1
                if start not in accepted:
                    todo = table[m.group()] - rejected.setdefault(start, set())
                    if todo:
                        self._checked += 1
                        end = stripped.find(b"\n", pos)
                        line = stripped[start:end]
                        lowered = line.lower()
                        folds = any(f in line for f in FOLD_BYTES)
                        for index in todo:
                            check = self.checks[index] if index >= 0 else None
                            if check is not None and not _holds(self.needs[index], line, lowered, folds):
                                rejected[start].add(index)
                                continue
                            if check is None or check.search(line):
                                accepted.add(start)
                                out.append(start)
                                resume = end + 1 if end >= 0 else len(data)
                                break
                            rejected[start].add(index)
                else:
                    end = stripped.find(b"\n", pos)
                    resume = end + 1 if end >= 0 else len(data)
                m = search(data, resume)
        if self.wide is not None:
            out.extend(m.start() for m in self.wide.finditer(stripped))
        if b"{" in stripped:
            first = self.json_rx.match(b"\n" + stripped[:4096])
            starts = ([0] if first else []) + [m.start() + 1 for m in self.json_rx.finditer(stripped)]
            for start in starts:
                line = stripped[start : stripped.find(b"\n", start)].lower()
                if self.json_any or b"\\" in line or any(f in line for f in self.json_frags):
                    out.append(start)
        return out


def _holds(needs: list[list[Literal]], line: bytes, lowered: bytes, folds: bool) -> bool:
    """Cheap necessary condition before a regex: every required literal set is present."""
    for option in needs:
        if not any((lit.text in lowered) if lit.caseless else (lit.text in line) for lit in option):
            if folds and any(lit.caseless for lit in option):
                continue   # a Unicode case fold (Kelvin sign...) may stand in for a letter
            return False
    return True


WINDOW = 10   # bytes of a literal the pure-Python prefilter searches for
REPREPARE_AFTER = 3000   # line checks in one block before the windows are chosen again


def _sample(block: bytes, size: int = 1 << 16) -> bytes:
    """Four slices spread over the block: its byte statistics without reading it all."""
    if len(block) <= size:
        return block
    step = len(block) // 4
    return b"".join(block[i * step : i * step + size // 4] for i in range(4))


SCAN_COST = 1      # per sample byte whose value starts some window (`re` tries a match there)
HIT_COST = 200     # per sample occurrence of a window (the hit line is checked in Python)


def _window_trie(literals: dict[bytes, set[int]], sample: bytes) -> tuple[Any, dict[bytes, set[int]]]:
    """A regex finding any literal's window, and window -> owning pattern indices.

    Each literal is searched through one window (a 3..WINDOW-byte piece of it). `re` stops at
    every byte that starts some window, so the set of first bytes should be rare; a window that
    occurs often costs a line check per occurrence. Windows are chosen per literal, then first
    bytes are dropped greedily (most frequent first) while moving their literals elsewhere costs
    fewer extra checks than the scan time it saves."""
    if not literals:
        return None, {}
    freq = {b: sample.count(bytes([b])) for b in range(256)}
    options: dict[bytes, list[tuple[int, bytes]]] = {}
    for lit in literals:
        pieces = {lit} if len(lit) <= 3 else {lit[i : i + WINDOW] for i in range(len(lit) - 2)}
        options[lit] = sorted((sample.count(w) * HIT_COST, w) for w in pieces)
    choice = {lit: min(opts, key=lambda o: o[0] + freq[o[1][0]] * SCAN_COST) for lit, opts in options.items()}
    changed = True
    while changed:
        changed = False
        starts = {w[0] for _c, w in choice.values()}
        for byte in sorted(starts, key=lambda x: -freq[x]):
            users = [lit for lit, (_c, w) in choice.items() if w[0] == byte]
            others = starts - {byte}
            moves = {}
            for lit in users:
                alt = [o for o in options[lit] if o[1][0] in others]
                if not alt:
                    break
                moves[lit] = alt[0]
            else:
                extra = sum(moves[lit][0] - choice[lit][0] for lit in users)
                if extra < freq[byte] * SCAN_COST:
                    choice.update(moves)
                    changed = True
                    break
    windows: dict[bytes, set[int]] = {}
    for lit, owners in literals.items():
        windows.setdefault(choice[lit][1], set()).update(owners)
    # a window containing another window is found through the shorter one: merge owners
    kept = _minimal(set(windows))
    table: dict[bytes, set[int]] = {w: set() for w in kept}
    for window, owners in windows.items():
        for k in kept:
            if k in window:
                table[k].update(owners)
                break
    return re.compile(_trie(sorted(kept))), table


def _trie(words: list[bytes]) -> bytes:
    """Alternation factored by leading byte (``re`` tries far fewer branches per position)."""
    if any(not w for w in words):
        return b""
    groups: dict[bytes, list[bytes]] = {}
    for w in words:
        groups.setdefault(w[:1], []).append(w[1:])
    alts = []
    for head, rest in sorted(groups.items()):
        sub = _trie(rest)
        if sub and len(rest) > 1:
            alts.append(re.escape(head) + b"(?:" + sub + b")")
        else:
            alts.append(re.escape(head) + sub)
    return b"|".join(alts)


def _minimal(literals: set[bytes]) -> list[bytes]:
    """Drop literals that contain another literal of the set (the shorter one finds them too)."""
    ordered = sorted(literals, key=len)
    kept: list[bytes] = []
    for lit in ordered:
        if not any(k in lit for k in kept):
            kept.append(lit)
    return kept


# ── selection and the extract() entry point ────────────────────────────────────────────────────


def engine_choice(requested: str | None = None) -> str:
    """The engine to use: env FORENSICS_MATCHER (or ``requested``); auto = hyperscan if importable."""
    choice = (requested or os.environ.get(ENV) or "auto").strip().lower()
    if choice not in ENGINES:
        choice = "auto"
    if choice == "auto":
        return "hyperscan" if hyperscan is not None else "python"
    if choice == "hyperscan" and hyperscan is None:
        return "python"
    return choice


def catalogue_patterns(catalogue: events_mod.Catalogue) -> list[tuple[str, bool]]:
    """Every pattern events.extract runs on every line: signatures and context fields."""
    pats = [(s.pattern, s.ignore_case) for s in catalogue.signatures]
    pats += [(f.pattern, False) for f in catalogue.context_fields]
    return pats


_SCANNERS: dict[tuple[str, tuple[tuple[str, bool], ...]], Scanner] = {}


def _scanner(engine: str, patterns: tuple[tuple[str, bool], ...]) -> Scanner:
    key = (engine, patterns)
    if key not in _SCANNERS:
        cls = HyperscanScanner if engine == "hyperscan" else PythonScanner
        _SCANNERS[key] = cls(list(patterns))
    return _SCANNERS[key]


def scanner_for(catalogue: events_mod.Catalogue, engine: str | None = None) -> Scanner | None:
    """The (cached) scanner for this catalogue, or None for the line-by-line path."""
    choice = engine_choice(engine)
    if choice == "lines":
        return None
    return _scanner(choice, tuple(catalogue_patterns(catalogue)))


def extract(source: sources.Source, catalogue: events_mod.Catalogue, redactor: Any, engine: str | None = None) -> events_mod.SourceEvents:
    """Same SourceEvents as ``events.extract(source.name, records.parse(source.name,
    source.lines()), catalogue, redactor)`` for one source, in this process."""
    scanner = scanner_for(catalogue, engine)
    if scanner is None:
        return events_mod.extract(source.name, records.parse(source.name, source.lines()), catalogue, redactor)
    return _extract_local(source, scanner, catalogue, redactor)


def _extract_local(source: sources.Source, scanner: Scanner, catalogue: events_mod.Catalogue, redactor: Any) -> events_mod.SourceEvents:
    read = ReadStats()
    scan = ScanStats(engine=scanner.name)
    size = _plain_size(source.name, source)
    stream = source.opener() if size is None else _RangeReader(open(source.name, "rb"), 0, size)  # type: ignore[operator]
    try:
        lines = assemble(source.name, scanner.scan_stream(stream, read, scan, source.name))
        result = events_mod.extract(source.name, lines, catalogue, redactor)
        _source_notes(source, read.binary, bool(getattr(stream, "failed", False)))
    finally:
        try:
            stream.close()
        except Exception:  # noqa: BLE001
            pass
    result.lines = read.lines
    return result


def _source_notes(source: sources.Source, binary: bool, failed: bool) -> None:
    """The notes sources.Source.lines() would have added."""
    if binary:
        source.binary = True
        source.notes.append(f"{source.name}: binary content, not analysed")
    if failed:
        source.notes.append(f"{source.name}: compressed data ended early (corrupt or truncated); analysed what was readable")


# ── several inputs, several cores ──────────────────────────────────────────────────────────────

SPLIT_MIN = 64 << 20    # a plain file this large is cut into byte ranges scanned in parallel
RANGE_MIN = 32 << 20    # smallest range worth a process
POOL_MIN = 48 << 20     # below this much plain-file data in total, one process is faster


@dataclass(frozen=True, slots=True)
class Job:
    path: str
    start: int
    end: int
    first: bool
    engine: str
    patterns: tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class RangeResult:
    candidates: list[Candidate]
    lines: int
    binary: bool


class _RangeReader(io.RawIOBase):
    """Reads bytes [start, end) of a file."""

    def __init__(self, handle: BinaryIO, start: int, end: int) -> None:
        self._h, self._left = handle, end - start
        self.handle, self.start, self.end = handle, start, end
        handle.seek(start)

    def close(self) -> None:
        self._h.close()
        super().close()

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self._left <= 0:
            return b""
        n = self._left if size < 0 else min(size, self._left)
        data = self._h.read(n)
        self._left -= len(data)
        return data


def run_job(job: Job) -> RangeResult:
    """Scan one byte range of a plain file (runs in a worker process)."""
    scanner = _scanner(job.engine, job.patterns)
    read, scan = ReadStats(), ScanStats(engine=scanner.name)
    with open(job.path, "rb") as handle:
        stream = _RangeReader(handle, job.start, job.end)
        found = list(scanner.scan_stream(stream, read, scan, job.path, first=job.first))
    return RangeResult(found, read.lines, read.binary)


def _plain_size(path: str, source: sources.Source) -> int | None:
    """Size of a plain (not compressed, not archived, not stdin) file source, else None."""
    if path == "-" or source.name != path or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
        if magic[:2] == sources.GZIP_MAGIC or magic == sources.ZIP_MAGIC:
            return None
        return os.path.getsize(path)
    except OSError:
        return None


def _ranges(path: str, size: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges of the file, each ending just after a newline."""
    bounds = [0]
    with open(path, "rb") as handle:
        for i in range(1, parts):
            handle.seek(max(size * i // parts, bounds[-1]))
            pos = handle.tell()
            while True:
                piece = handle.read(1 << 16)
                if not piece:
                    pos = size
                    break
                cut = piece.find(b"\n")
                if cut >= 0:
                    pos += cut + 1
                    break
                pos += len(piece)
            if pos >= size:
                break
            bounds.append(pos)
    bounds.append(size)
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a] or [(0, size)]


def workers() -> int:
    return max(1, min(os.cpu_count() or 1, int(os.environ.get("FORENSICS_WORKERS", "0") or 0) or (os.cpu_count() or 1)))


def extract_sources(paths: list[str] | tuple[str, ...], catalogue: events_mod.Catalogue, redactor: Any, engine: str | None = None) -> Iterator[tuple[sources.Source, events_mod.SourceEvents]]:
    """Every source of every path with its SourceEvents, in order — the same as running
    ``events.extract`` over every line of each. Large plain files are cut into byte ranges and
    several ranges/files are scanned at once in worker processes (one per core)."""
    choice = engine_choice(engine)
    plan = [(path, src) for path in paths for src in sources.open_sources(path)]
    if choice == "lines":
        for _path, src in plan:
            yield src, events_mod.extract(src.name, records.parse(src.name, src.lines()), catalogue, redactor)
        return
    patterns = tuple(catalogue_patterns(catalogue))
    scanner = _scanner(choice, patterns)
    cores = workers()
    jobs: dict[int, list[Job]] = {}
    for n, (path, src) in enumerate(plan):
        size = _plain_size(path, src)
        if size is None:
            continue
        # twice as many ranges as cores: a range with more work (colours, matches) is balanced
        # by the others, as free workers take the next range
        parts = min(2 * cores, max(1, size // RANGE_MIN)) if size >= SPLIT_MIN else 1
        jobs[n] = [Job(path, a, b, a == 0, choice, patterns) for a, b in _ranges(path, size, parts)]
    pooled = sum(job.end - job.start for js in jobs.values() for job in js)
    n_jobs = sum(len(js) for js in jobs.values())
    if cores < 2 or n_jobs < 2 or pooled < POOL_MIN:
        for _path, src in plan:
            yield src, _extract_local(src, scanner, catalogue, redactor)
        return
    import concurrent.futures
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    try:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(cores, n_jobs), mp_context=context)
    except (OSError, ValueError, NotImplementedError):  # no processes here: one is enough
        for _path, src in plan:
            yield src, _extract_local(src, scanner, catalogue, redactor)
        return
    with pool:
        futures = {n: [pool.submit(run_job, job) for job in js] for n, js in jobs.items()}
        for n, (path, src) in enumerate(plan):
            if n not in futures:
                yield src, _extract_local(src, scanner, catalogue, redactor)
                continue
            try:
                results = [f.result() for f in futures[n]]
            except Exception:  # noqa: BLE001 - a worker died (memory, signal): do it here instead
                yield src, _extract_local(src, scanner, catalogue, redactor)
                continue
            yield src, _from_ranges(src, results, scanner, catalogue, redactor)


def _from_ranges(source: sources.Source, results: list[RangeResult], scanner: Scanner, catalogue: events_mod.Catalogue, redactor: Any) -> events_mod.SourceEvents:
    """Stitch the ranges of one file: line numbers offset, Run-group state carried in order."""
    if results[0].binary:
        _source_notes(source, True, False)
        return events_mod.extract(source.name, iter(()), catalogue, redactor)
    if any(c.unsettled for r in results for c in r.candidates):
        # a harness clock line before any absolute time in its range: redo the file in order
        return _extract_local(source, scanner, catalogue, redactor)
    groups = GroupTracker()

    def lines() -> Iterator[records.Line]:
        offset = 0
        for r in results:
            yield from assemble(source.name, iter(r.candidates), offset, groups)
            offset += r.lines

    result = events_mod.extract(source.name, lines(), catalogue, redactor)
    result.lines = sum(r.lines for r in results)
    return result
