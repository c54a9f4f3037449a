"""Signature catalogue: knowledge as data (TOML), loaded and validated once.

Invariants:
- Every ``forensics/data/signatures/*.toml`` file is loaded (sorted by name), then user
  files (``--signatures FILE``, env ``FORENSICS_SIGNATURES`` = os.pathsep-separated list).
- Ids are unique; a later file may override an earlier signature by re-using its id.
- ``hypothesis`` is one of model.HYPOTHESES or absent (structural); ``direction`` is
  "for" | "against"; ``strength`` is 1..3; ``step`` (if set) is one of model.STEPS.
- Bad data raises SignatureError with a one-line message naming file and entry.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from forensics.matcher import Pattern, PatternError, compile_matcher
from forensics.model import HYPOTHESES, STEPS

DATA_DIR = Path(__file__).parent / "data"
SIGNATURE_DIR = DATA_DIR / "signatures"
ENV_VAR = "FORENSICS_SIGNATURES"
DIRECTIONS = ("for", "against")
FIELDS = {"id", "pattern", "hypothesis", "direction", "strength", "step", "kind", "meaning", "ignore_case", "family"}


class SignatureError(ValueError):
    """Invalid signature data (one line)."""


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    pattern: str
    kind: str
    meaning: str = ""
    hypothesis: str | None = None
    direction: str = "for"
    strength: int = 1
    step: str | None = None
    ignore_case: bool = False
    family: str = ""          # file stem it came from
    origin: str = ""          # file path it came from

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def user_signature_files(cli_files: Iterable[str] = ()) -> list[str]:
    env = [p for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [*env, *cli_files]


def load_signatures(extra_files: Iterable[str] = ()) -> list[Signature]:
    """Shipped signatures plus user files; validated; compiled once to catch bad regexes."""
    files = sorted(SIGNATURE_DIR.glob("*.toml")) + [Path(p) for p in extra_files]
    by_id: dict[str, Signature] = {}
    for path in files:
        for sig in _load_file(path):
            by_id.pop(sig.id, None)
            by_id[sig.id] = sig
    sigs = list(by_id.values())
    try:
        compile_matcher([Pattern(s.pattern, s.ignore_case) for s in sigs])
    except PatternError as exc:
        raise SignatureError(str(exc)) from None
    return sigs


def _load_file(path: Path) -> list[Signature]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SignatureError(f"signature file {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise SignatureError(f"signature file {str(path)!r}: is a directory") from None
    except OSError as exc:
        raise SignatureError(f"signature file {str(path)!r}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SignatureError(f"signature file {str(path)!r}: invalid TOML: {exc}") from None
    entries = data.get("signature", [])
    if not isinstance(entries, list):
        raise SignatureError(f"signature file {str(path)!r}: use [[signature]] tables")
    out: list[Signature] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        out.append(_validate(entry, path, n, seen))
    return out


def _validate(entry: object, path: Path, n: int, seen: set[str]) -> Signature:
    where = f"signature file {str(path)!r}, entry {n}"
    if not isinstance(entry, dict):
        raise SignatureError(f"{where}: not a table")
    unknown = set(entry) - FIELDS
    if unknown:
        raise SignatureError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    sid, pattern = entry.get("id"), entry.get("pattern")
    if not isinstance(sid, str) or not sid:
        raise SignatureError(f"{where}: 'id' (string) is required")
    where = f"{where} ({sid})"
    if sid in seen:
        raise SignatureError(f"{where}: duplicate id in the same file")
    seen.add(sid)
    if not isinstance(pattern, str) or not pattern:
        raise SignatureError(f"{where}: 'pattern' (string) is required")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SignatureError(f"{where}: pattern does not compile: {exc}") from None
    hyp = entry.get("hypothesis")
    if hyp is not None and hyp not in HYPOTHESES:
        raise SignatureError(f"{where}: hypothesis must be one of {', '.join(HYPOTHESES)}")
    direction = entry.get("direction", "for")
    if direction not in DIRECTIONS:
        raise SignatureError(f"{where}: direction must be 'for' or 'against'")
    strength = entry.get("strength", 1)
    if not isinstance(strength, int) or isinstance(strength, bool) or not 1 <= strength <= 3:
        raise SignatureError(f"{where}: strength must be 1, 2 or 3")
    step = entry.get("step")
    if step is not None and step not in STEPS:
        raise SignatureError(f"{where}: step must be one of {', '.join(STEPS)}")
    kind = entry.get("kind") or (hyp if hyp else "line")
    if not isinstance(kind, str):
        raise SignatureError(f"{where}: kind must be a string")
    meaning = entry.get("meaning", "")
    ignore_case = entry.get("ignore_case", False)
    if not isinstance(meaning, str) or not isinstance(ignore_case, bool):
        raise SignatureError(f"{where}: meaning must be a string, ignore_case a boolean")
    return Signature(
        id=sid,
        pattern=pattern,
        kind=kind,
        meaning=meaning,
        hypothesis=hyp,
        direction=direction,
        strength=strength,
        step=step,
        ignore_case=ignore_case,
        family=str(entry.get("family") or path.stem),
        origin=str(path),
    )


def grep_patterns(sigs: Iterable[Signature]) -> list[str]:
    """Patterns for ``grep -E -f``: one per line (case-insensitive ones get no flag; grep has none per line)."""
    return [s.pattern for s in sigs]


# ---- step names and context fields (steps.toml, context.toml) ----------------------------

@dataclass(frozen=True, slots=True)
class StepInfo:
    id: str
    title: str
    served: str


@dataclass(frozen=True, slots=True)
class StepAlias:
    step: str
    pattern: str


@dataclass(frozen=True, slots=True)
class ContextField:
    name: str
    pattern: str
    many: bool = False


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_steps() -> tuple[dict[str, StepInfo], list[StepAlias]]:
    data = _read_toml(DATA_DIR / "steps.toml")
    infos = {s["id"]: StepInfo(s["id"], s.get("title", s["id"]), s.get("served", s["id"])) for s in data.get("step", [])}
    aliases = [StepAlias(a["step"], a["pattern"]) for a in data.get("alias", [])]
    bad = [a.step for a in aliases if a.step not in STEPS] + [s for s in infos if s not in STEPS]
    if bad:
        raise SignatureError(f"steps.toml: unknown step id(s) {', '.join(sorted(set(bad)))}")
    return infos, aliases


def load_context_fields() -> list[ContextField]:
    data = _read_toml(DATA_DIR / "context.toml")
    return [ContextField(f["name"], f["pattern"], bool(f.get("list", False))) for f in data.get("field", [])]


def load_levers() -> dict:
    return _read_toml(DATA_DIR / "levers.toml")
