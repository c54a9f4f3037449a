"""The pipeline, end to end: paths -> Analysis.

    sources -> records -> events -> timeline -> verdict

Only ``sources`` touches the file system; everything after it is a pure function of
the lines. Issue-6 style post-processing (deploy/history) takes the returned Analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from forensics import events as events_mod
from forensics import fastmatch, timeline, verdict  # fastmatch: issue 7
from forensics.model import Analysis
from forensics.redact import Redactor
from forensics.signatures import (
    Signature,
    load_context_fields,
    load_levers,
    load_signatures,
    load_steps,
    user_signature_files,
)
from forensics.sources import check_readable

TIMELINE_CAP = 2000


@dataclass(slots=True)
class Knowledge:
    """All data files, loaded and compiled once."""

    catalogue: events_mod.Catalogue
    levers: dict
    steps: dict


def load_knowledge(signature_files: Iterable[str] = (), *, use_env: bool = True) -> Knowledge:
    files = user_signature_files(signature_files) if use_env else list(signature_files)
    sigs: list[Signature] = load_signatures(files)
    step_infos, aliases = load_steps()
    catalogue = events_mod.Catalogue(sigs, aliases, load_context_fields())
    return Knowledge(catalogue=catalogue, levers=load_levers(), steps=step_infos)


def analyze(
    paths: Sequence[str],
    signature_files: Iterable[str] = (),
    *,
    knowledge: Knowledge | None = None,
    secrets: Iterable[str] = (),
) -> Analysis:
    """Analyse the given inputs (``-`` = stdin). Raises sources.UnreadableInput first, before any work."""
    for path in paths:
        check_readable(path)
    know = knowledge or load_knowledge(signature_files)
    redactor = Redactor(secrets)
    per_source: list[events_mod.SourceEvents] = []
    names: list[str] = []
    notes: list[str] = []
    readable = 0
    # ── issue 7 (forensics/fastmatch.py): blocks scanned for candidate lines instead of matching
    # every line, large or several files on worker processes; the same SourceEvents as
    # events_mod.extract over records.parse of every line (FORENSICS_MATCHER=lines forces that path).
    for source, result in fastmatch.extract_sources(list(paths), know.catalogue, redactor):
        names.append(source.name)
        notes.extend(source.notes)
        if not source.binary:
            readable += 1
        per_source.append(result)
        for sig_id, n in result.dropped.items():
            notes.append(f"{source.name}: {n} more lines matched {sig_id} (not listed)")
    # ── end issue 7
    merged = timeline.merge([r.events for r in per_source])
    total_lines = sum(r.lines for r in per_source if r.lines)
    facts, primary, assessments, sentences = verdict.decide(
        merged,
        know.catalogue.by_id,
        total_lines=total_lines,
        readable_sources=readable,
        levers=know.levers,
        steps=know.steps,
    )
    shown = timeline.collapse(merged)
    if len(shown) > TIMELINE_CAP:
        notes.append(f"timeline cut to the first {TIMELINE_CAP} of {len(shown)} events")
        shown = shown[:TIMELINE_CAP]
    context = {k: ([redactor.redact(x) for x in v] if isinstance(v, list) else redactor.redact(str(v)))
               for k, v in merge_context(per_source).items()}
    if facts.first_failure is not None:
        context.setdefault("first_failure", {"source": facts.first_failure.source, "line": facts.first_failure.line, "text": facts.first_failure.text})
    return verdict.build_analysis(facts, primary, assessments, sentences, shown, names, context, notes)


def merge_context(per_source: Sequence[events_mod.SourceEvents]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for result in per_source:
        for key, value in result.context.items():
            if isinstance(value, list):
                merged = context.setdefault(key, [])
                merged.extend(v for v in value if v not in merged)
            else:
                context.setdefault(key, value)
    return context
