"""Stage 3: Lines -> typed Events (lines that matched a signature), per source.

Invariants:
- Echoed script source (``Line.echo``) is never evidence, and neither is a CI step's
  name (``⭐ Run Main <name>``, ``✅ Success - <name>``): it says what ran, not what happened.
  Nor is the line right after a matching ``+ echo '…'`` trace that prints exactly those words.
- ``Event.text`` is the line's text, trimmed to ``TEXT_CAP`` characters and redacted;
  every piece between ``[REDACTED]`` markers is a verbatim substring of the ANSI-stripped
  line.
- ``Event.step`` is the signature's own step if it declares one, else the step resolved
  from the line (steps.toml aliases) or the harness/CI step the line appears in.
- Memory is bounded by the events kept: at most ``PER_SIGNATURE_CAP`` events per
  signature per source (the first ones; later ones are only counted).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from forensics.matcher import Pattern, compile_matcher
from forensics.model import Event
from forensics.records import Line
from forensics.redact import MARK, Redactor
from forensics.signatures import ContextField, Signature, StepAlias

TEXT_CAP = 600
PER_SIGNATURE_CAP = 200
CI_STEP_NAME_KINDS = {"ci-step-start", "ci-step-pass", "ci-step-fail"}
HARNESS_KINDS = {"step-start", "step-pass", "step-fail", "run-pass", "run-fail", "run-skip"}


@dataclass
class Catalogue:
    """Everything compiled once per run: signatures, step aliases, context fields."""

    signatures: list[Signature]
    aliases: list[StepAlias]
    context_fields: list[ContextField]

    def __post_init__(self) -> None:
        self.matcher = compile_matcher([Pattern(s.pattern, s.ignore_case) for s in self.signatures])
        self._aliases = [(a.step, re.compile(a.pattern, re.IGNORECASE)) for a in self.aliases]
        self.context_matcher = compile_matcher([Pattern(f.pattern) for f in self.context_fields])
        self._context = [re.compile(f.pattern) for f in self.context_fields]
        self.by_id = {s.id: s for s in self.signatures}

    def step_of(self, text: str, only: set[str] | None = None) -> str | None:
        """The step a line names (first matching alias), optionally limited to ``only``."""
        for step, rx in self._aliases:
            if only is not None and step not in only:
                continue
            if rx.search(text):
                return step
        return None

    def context_values(self, text: str) -> list[tuple[ContextField, str]]:
        out = []
        for i in self.context_matcher.matches(text):
            m = self._context[i].search(text)
            if m and m.groups() and m.group(1):
                out.append((self.context_fields[i], m.group(1).strip()))
        return out


@dataclass(slots=True)
class SourceEvents:
    """What one source contributed."""

    source: str
    events: list[Event] = field(default_factory=list)
    lines: int = 0
    timestamped: int = 0
    harness_seen: bool = False
    context: dict[str, object] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)


def trim(text: str, cap: int = TEXT_CAP) -> str:
    """Shorten without adding characters and without leaving half a redaction marker."""
    text = text.strip()
    if len(text) <= cap:
        return text
    cut = text[:cap]
    partial = cut.rfind("[")
    if partial >= 0 and MARK.startswith(cut[partial:]) and cut[partial:] != MARK:
        cut = cut[:partial]
    return cut.rstrip()


def extract(source: str, lines: Iterable[Line], catalogue: Catalogue, redactor: Redactor) -> SourceEvents:
    """Match every line of one source; resolve steps from the harness/CI structure."""
    out = SourceEvents(source=source)
    per_sig: Counter = Counter()
    harness_step: str | None = None
    ci_step: str | None = None
    step_passed = False  # the current harness step already printed its own ✅ line
    echo_said: tuple[int, str] | None = None
    for line in lines:
        out.lines = line.line
        if line.ts is not None:
            out.timestamped += 1
        if line.echo:
            said = echoed_words(line.text)
            # only a traced echo that itself matches can silence its output: it is then a
            # candidate line on every matcher path, so both paths see the same pair
            echo_said = (line.line, said) if said and catalogue.matcher.matches(line.match_text) else None
            continue
        if not line.text:
            continue
        if echo_said is not None and echo_said[0] == line.line - 1 and line.text.strip() == echo_said[1]:
            continue  # the output of a traced `echo`: the script's own words, not an observation
        for fieldinfo, value in catalogue.context_values(line.match_text):
            if fieldinfo.many:
                values = out.context.setdefault(fieldinfo.name, [])
                if isinstance(values, list) and value not in values and len(values) < 20:
                    values.append(value)
            else:
                out.context.setdefault(fieldinfo.name, value)
        hits = catalogue.matcher.matches(line.match_text)
        if not hits:
            continue
        text: str | None = None
        kinds = {catalogue.signatures[i].kind for i in hits}
        names_a_ci_step = bool(kinds & CI_STEP_NAME_KINDS)
        for index in hits:
            sig = catalogue.signatures[index]
            if names_a_ci_step and sig.hypothesis:
                continue  # "⭐ Run Main Platform-managed LLM path" names a step; it is not evidence
            step = sig.step
            if sig.kind == "step-start":
                out.harness_seen = True
                step = step or catalogue.step_of(line.match_text)
                harness_step, step_passed = step, False
            elif sig.kind == "ci-step-start":
                name = line.text.split("Run ", 1)[-1]
                ci_step = step or catalogue.step_of(name, only={"preflight", "teardown"})
                harness_step = None
            elif step is None:
                step = _resolve(sig, line.match_text, harness_step, ci_step, catalogue, out.harness_seen, step_passed)
            if sig.kind == "step-pass" and harness_step is not None and step == harness_step:
                step_passed = True
            if sig.kind in HARNESS_KINDS:
                out.harness_seen = True
            per_sig[sig.id] += 1
            if per_sig[sig.id] > PER_SIGNATURE_CAP:
                out.dropped[sig.id] += 1
                continue
            if text is None:
                text = trim(redactor.redact(line.text))
            out.events.append(
                Event(
                    source=source,
                    line=line.line,
                    ts=line.ts,
                    kind=sig.kind,
                    text=text,
                    signature=sig.id,
                    hypothesis=sig.hypothesis,
                    direction=sig.direction if sig.hypothesis else None,
                    step=step,
                    meaning=sig.meaning or None,
                )
            )
    return out


def echoed_words(text: str) -> str | None:
    """What a ``set -x`` trace line ``+ echo 'words'`` prints (None if it is not a plain echo)."""
    body = text.lstrip().lstrip("+").lstrip()
    if not body.startswith("echo "):
        return None
    try:
        args = shlex.split(body[5:])
    except ValueError:
        return None
    while args and re.fullmatch(r"-[neE]+", args[0]):
        args.pop(0)
    return " ".join(args).strip() or None


def _resolve(sig: Signature, text: str, harness_step: str | None, ci_step: str | None, catalogue: Catalogue,
             harness_seen: bool, step_passed: bool = False) -> str | None:
    """The step of one matched line. A failure is charged to the current harness step, unless
    that step already passed and the failure names another step in its own words (a probe
    with no numbered header of its own, e.g. the known-answer probe right after PONG ✅)."""
    if sig.kind == "step-fail":
        named = catalogue.step_of(text) if step_passed else None
        return named or harness_step or catalogue.step_of(text)
    if sig.kind == "step-pass":
        return catalogue.step_of(text) or harness_step
    if sig.kind in ("ci-error", "ci-step-fail", "exit-nonzero", "job-fail"):
        body = text.split("Failure - ", 1)[-1]
        only = None if harness_seen else {"preflight", "teardown"}
        return catalogue.step_of(body, only=only) or harness_step or ci_step
    return harness_step or ci_step
