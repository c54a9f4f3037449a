"""Render an Analysis as json | md | html. Pure: Analysis in, text out.

Invariants:
- Every string that reaches md or html output has passed through ``forensics.redact.redact``
  (defence in depth: the model's text is already redacted) and had control characters replaced.
- Markdown is safe to post on Gitea/GitHub: log text only ever appears inside code spans or
  fenced blocks whose fence is longer than any backtick run in it; prose is backslash-escaped;
  ``@name`` mentions are neutralised with a zero-width space; the whole comment stays under
  ``limits.md_chars - limits.md_reserve`` UTF-16 code units, shrinking the timeline and evidence
  sections first (with a truncation note) and never dropping a verdict.
- HTML is one standalone, autoescaped page: inline CSS and SVG, no scripts, no external assets.
- Words, colours and limits come from ``templates/render.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import markupsafe

from forensics.model import HYPOTHESES, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.redact import redact

FORMATS: tuple[str, ...] = ("json", "md", "html")

_TEMPLATES = "templates"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_WHITESPACE = re.compile(r"\s+")
_MENTION = re.compile(r"(?<![\w@/`])@(?=[A-Za-z0-9_])")
_ZWSP = "\u200b"
_REDACT_MARGIN = 512
_BACKTICKS = re.compile(r"`+")
# Prose characters that could start markup in CommonMark/GFM; backslash-escaping any ASCII
# punctuation is always allowed there and renders the character itself.
_MD_PUNCT = re.compile(r"([\\*_\[\]<>|~&{}$])")  # $ too: GitHub and Gitea render $math$
_PROSE_CODE = re.compile(r"(?<!`)`([^`]+)`(?!`)")  # a `single-backtick` pair in prose is code
_MD_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


# --------------------------------------------------------------------------- public surface


def render(analysis: Analysis, fmt: str) -> str:
    """Render ``analysis`` in ``fmt`` (one of FORMATS)."""
    if fmt == "json":
        return render_json(analysis)
    if fmt == "md":
        return render_md(analysis)
    if fmt == "html":
        return render_html(analysis)
    raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


def render_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render_md(analysis: Analysis, limit: int | None = None) -> str:
    """The RCA comment as GitHub/Gitea markdown, at most ``limit`` UTF-16 units long."""
    limits = _config()["limits"]
    budget = limit if limit is not None else limits["md_chars"] - limits["md_reserve"]
    template = _md_env().get_template("rca.md.j2")
    text = ""
    prepared = _prepare(analysis)
    for caps in _LADDER:
        view = _view(analysis, caps, prepared)
        text = template.render(v=view)
        if md_length(text) <= budget:
            return text
    return _hard_cut(text, budget)


def render_html(analysis: Analysis) -> str:
    """A standalone HTML page: timeline picture (inline SVG), verdict table, evidence, lever."""
    limits = _config()["limits"]
    caps = replace(_LADDER[0], timeline=limits["html_timeline_rows"], evidence=limits["html_timeline_rows"], refs=50)
    view = _view(analysis, caps)
    svg = _timeline_picture(analysis, limits["svg_marks"])
    return _html_env().get_template("rca.html.j2").render(v=view, svg=svg)


def md_length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units), so astral emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- text cleaning


def clean(text: str | None, limit: int | None = None) -> str:
    """Redacted, control characters replaced by spaces, optionally cut to ``limit`` chars."""
    if not text:
        return ""
    text = str(text)
    extra = 0
    if limit is not None and len(text) > limit + _REDACT_MARGIN:
        # Redact a window a little longer than what is kept, so a secret crossing the cut is
        # still recognised whole; the tail is dropped anyway.
        extra = len(text) - limit - _REDACT_MARGIN
        text = text[: limit + _REDACT_MARGIN]
    out = _CONTROL.sub(" ", redact(text))
    if limit is not None and len(out) > limit:
        out = out[:limit] + f"… [+{len(out) - limit + extra} chars]"
    return out


def neutralise_mentions(text: str) -> str:
    """``@name`` -> ``@\\u200bname`` so no forge turns it into a notification."""
    return _MENTION.sub("@" + _ZWSP, text)


def md_code(text: str | None) -> str:
    """A code span that shows ``text`` literally and cannot be closed early by it."""
    body = neutralise_mentions(re.sub(r"[\r\n\t]", " ", text or ""))
    if not body.strip():
        return "*(empty)*"
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * (longest + 1)
    if body[0] in "` " or body[-1] in "` ":
        body = f" {body} "
    return f"{fence}{body}{fence}"


def md_escape(text: str) -> str:
    """Prose with every markup-starting character backslash-escaped and mentions neutralised."""
    # Mentions first: escaping would put a backslash between "@" and a leading "_" of a name.
    return _MD_PUNCT.sub(r"\\\1", neutralise_mentions(text)).replace("`", "\\`")


def md_prose(text: str | None) -> str:
    """One paragraph of prose: whitespace collapsed; `code` pairs become safe code spans."""
    flat = _WHITESPACE.sub(" ", text or "").strip()
    if not flat:
        return ""
    out = []
    for i, part in enumerate(_PROSE_CODE.split(flat)):
        out.append(md_code(part) if i % 2 else md_escape(part))
    return "".join(out)


def md_paragraph(text: str | None) -> str:
    """``md_prose`` for text that starts a line: it cannot open a heading, quote or list."""
    return _escape_block_start(md_prose(text))


def _escape_block_start(text: str) -> str:
    """A paragraph must not open a heading, quote, list or setext underline."""
    match = _MD_BLOCK_START.match(text)
    if not match:
        return text
    marker = match.group(2)
    at = match.end(2) - 1 if marker[0].isdigit() else match.start(2)
    return text[:at] + "\\" + text[at:]


def md_block(lines: Sequence[str]) -> str:
    """A fenced code block showing ``lines`` literally; its fence is longer than any backtick run."""
    safe = [neutralise_mentions(re.sub(r"[\r\n]", " ", line)) for line in lines]
    longest = max((len(run) for line in safe for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + "text", *safe, fence])


def md_timeline(items: Sequence[ItemView]) -> str:
    """The timeline as aligned plain-text rows in one fenced block."""
    marks = {"for": " +", "against": " -"}
    ref_width = max((len(e.ref) for e in items), default=0)
    rows = []
    for e in items:
        tag = ",".join(e.hypotheses) + marks.get(e.direction, "") if e.hypotheses else e.kind
        rows.append(f"{e.when}  {e.ref:<{ref_width}}  {e.step or '-':<15} {tag:<22} {e.text}")
    return md_block(rows)


def html_prose(text: str | None) -> markupsafe.Markup:
    """Escaped prose where `single-backtick` pairs become <code> elements."""
    parts = _PROSE_CODE.split(text or "")
    return markupsafe.Markup("").join(
        markupsafe.Markup("<code>{}</code>").format(part) if i % 2 else markupsafe.escape(part)
        for i, part in enumerate(parts)
    )


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class Caps:
    """How much of the long sections one rendering shows."""

    timeline: int
    evidence: int
    refs: int          # evidence references per hypothesis in DISCRIMINATION
    line: int          # characters of one log line
    prose: int         # characters of one prose field
    notes: int         # number of notes
    ref_items: int     # number of Refs entries


_LADDER: tuple[Caps, ...] = (
    Caps(timeline=300, evidence=80, refs=8, line=600, prose=20_000, notes=50, ref_items=100),
    Caps(timeline=100, evidence=40, refs=6, line=400, prose=8_000, notes=30, ref_items=60),
    Caps(timeline=30, evidence=20, refs=4, line=300, prose=4_000, notes=20, ref_items=40),
    Caps(timeline=0, evidence=10, refs=3, line=200, prose=3_000, notes=10, ref_items=30),
    Caps(timeline=0, evidence=5, refs=2, line=160, prose=2_000, notes=6, ref_items=20),
    Caps(timeline=0, evidence=0, refs=0, line=120, prose=1_000, notes=4, ref_items=10),
)


@dataclass
class ItemView:
    """One evidence line or timeline event, cleaned for display."""

    when: str
    ts: str | None
    source: str
    line: int
    ref: str
    text: str
    meaning: str
    hypotheses: list[str]
    direction: str
    kind: str = ""
    step: str = ""


@dataclass
class HypothesisView:
    id: str
    title: str
    verdict: str
    label: str
    colour: str
    why: str
    lever: str
    refs: list[str]
    refs_omitted: int
    evidence_count: int
    pinned: bool


@dataclass
class View:
    outcome: str
    outcome_label: str
    headline: str
    verdict_sentence: str
    primary: str | None
    primary_title: str
    failed_step: str | None
    mechanism: str
    lever: str
    lever_source: str
    date_note: str
    evidence: list[ItemView]
    evidence_total: int
    hypotheses: list[HypothesisView]
    timeline: list[ItemView]
    timeline_total: int
    timeline_notable: int
    notes: list[str]
    refs: list[str]
    sources: list[str]
    context: list[tuple[str, str]]
    header_context: list[tuple[str, str]]
    scalar_context: list[tuple[str, str]]
    signature: str
    failure: ItemView | None = None
    truncation: list[str] = field(default_factory=list)
    limit_chars: int = 0


@dataclass
class _Prepared:
    """The parts of a view that do not depend on the caps (computed once per rendering)."""

    assessments: list[Assessment]
    evidence: list[tuple[Evidence, list[tuple[str, str]]]]
    notable: list[Event]
    same_day: str | None
    failure_index: int | None
    names: dict[str, str]


def _prepare(analysis: Analysis) -> _Prepared:
    assessments = _assessments(analysis)
    timeline_index = {(e.source, e.line): i for i, e in enumerate(analysis.timeline)}
    source_order = {s: i for i, s in enumerate(analysis.sources)}
    stamps = {(e.source, e.line): e.ts for e in analysis.timeline if e.ts is not None}
    evidence = [
        (replace(ev, ts=stamps[(ev.source, ev.line)]) if ev.ts is None and (ev.source, ev.line) in stamps else ev, tags)
        for ev, tags in _merged_evidence(assessments, timeline_index, source_order)
    ]
    same_day = _single_date([ev.ts for ev, _ in evidence] + [e.ts for e in analysis.timeline])
    notable = [e for e in analysis.timeline if _is_notable(e)]
    names = _display_names([*analysis.sources, *(e.source for e in analysis.timeline),
                            *(ev.source for a in assessments for ev in a.evidence)])
    return _Prepared(assessments, evidence, notable, same_day, _failure_index(analysis), names)


def _display_names(sources: Iterable[str]) -> dict[str, str]:
    """Each source's file name when no other source shares it, else the path as given."""
    unique = list(dict.fromkeys(sources))
    base = {s: s.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or s for s in unique}
    counts: dict[str, int] = {}
    for b in base.values():
        counts[b] = counts.get(b, 0) + 1
    return {s: base[s] if counts[base[s]] == 1 else s for s in unique}


def _view(analysis: Analysis, caps: Caps, prepared: _Prepared | None = None) -> View:
    config = _config()
    verdicts = config["verdicts"]
    p = prepared or _prepare(analysis)
    assessments, evidence_all, notable, same_day = p.assessments, p.evidence, p.notable, p.same_day
    chosen = _choose_evidence(evidence_all, assessments, caps.evidence)
    evidence_views = [_item_from_evidence(ev, hyps, caps.line, same_day, p.names) for ev, hyps in chosen]

    hyp_views: list[HypothesisView] = []
    for assessment in sorted(assessments, key=lambda a: (verdicts[a.verdict.value]["order"], HYPOTHESES.index(a.id) if a.id in HYPOTHESES else 99)):
        refs = [f"{p.names.get(ev.source, ev.source)}:{ev.line}" for ev in assessment.evidence]
        shown = refs[: caps.refs]
        hyp_views.append(
            HypothesisView(
                id=clean(assessment.id, 80),
                title=clean(assessment.title or config["hypotheses"].get(assessment.id, ""), 300),
                verdict=assessment.verdict.value,
                label=verdicts[assessment.verdict.value]["label"],
                colour=verdicts[assessment.verdict.value]["colour"],
                why=clean(assessment.why, caps.prose),
                lever=clean(assessment.lever, caps.prose),
                refs=[clean(r, 300) for r in shown],
                refs_omitted=len(refs) - len(shown),
                evidence_count=len(assessment.evidence),
                pinned=assessment.verdict is Verdict.PINNED,
            )
        )

    shown_events = notable[-caps.timeline:] if caps.timeline else []
    timeline_views = [_item_from_event(e, caps.line, same_day, p.names) for e in shown_events]

    failure = _item_from_event(analysis.timeline[p.failure_index], caps.line, same_day, p.names) if p.failure_index is not None else None
    pinned = next((a for a in assessments if a.verdict is Verdict.PINNED), None)
    lever, lever_source = _lever(analysis, pinned, caps.prose)
    truncation = _truncation_notes(
        evidence_shown=len(evidence_views), evidence_total=len(evidence_all),
        timeline_shown=len(timeline_views), timeline_notable=len(notable),
        timeline_total=len(analysis.timeline), hyp_views=hyp_views,
        notes_total=len(analysis.notes), notes_cap=caps.notes, caps=caps,
    )
    outcome = analysis.outcome.value
    return View(
        outcome=outcome,
        outcome_label=config["outcomes"].get(outcome, outcome.upper()),
        headline=clean(analysis.headline, caps.prose),
        verdict_sentence=_verdict_sentence(analysis, assessments),
        primary=analysis.primary,
        primary_title=clean(pinned.title or config["hypotheses"].get(pinned.id, ""), 300) if pinned else "",
        failed_step=analysis.failed_step,
        mechanism=clean(analysis.mechanism, caps.prose),
        lever=lever,
        lever_source=lever_source,
        date_note=f"all timestamps {same_day} UTC" if same_day else "timestamps UTC",
        evidence=evidence_views,
        evidence_total=len(evidence_all),
        hypotheses=hyp_views,
        timeline=timeline_views,
        timeline_total=len(analysis.timeline),
        timeline_notable=len(notable),
        notes=[clean(n, caps.prose) for n in analysis.notes[: caps.notes]],
        refs=[clean(r, 300) for r in analysis.refs[: caps.ref_items]],
        sources=[clean(s, 300) for s in analysis.sources[: caps.ref_items]],
        context=[(clean(str(k), 80), clean(_scalar(v), 300)) for k, v in list(analysis.context.items())[: caps.ref_items]],
        scalar_context=[(clean(str(k), 80), clean(str(v), 120)) for k, v in list(analysis.context.items())[: caps.ref_items]
                        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v) != ""],
        header_context=[(clean(k, 80), clean(_scalar(analysis.context[k]), 120))
                        for k in config["context"]["header"] if analysis.context.get(k) not in (None, "")][:3],
        signature=clean(analysis.signature, 200),
        failure=failure,
        truncation=truncation,
        limit_chars=config["limits"]["md_chars"],
    )


def _assessments(analysis: Analysis) -> list[Assessment]:
    """All five hypotheses in HYPOTHESES order (a missing one reads as not evidenced)."""
    out = []
    for hid in HYPOTHESES:
        found = analysis.hypotheses.get(hid)
        out.append(found or Assessment(id=hid, verdict=Verdict.NOT_EVIDENCED, why="No line in these logs bears on it."))
    out.extend(a for hid, a in analysis.hypotheses.items() if hid not in HYPOTHESES)
    return out


def _merged_evidence(
    assessments: Iterable[Assessment], timeline_index: dict[tuple[str, int], int], source_order: dict[str, int]
) -> list[tuple[Evidence, list[tuple[str, str]]]]:
    """Evidence of every hypothesis, one entry per (source, line), in timeline order."""
    merged: dict[tuple[str, int], tuple[Evidence, list[tuple[str, str]]]] = {}
    for assessment in assessments:
        for ev in assessment.evidence:
            key = (ev.source, ev.line)
            tag = (assessment.id, ev.direction or "neutral")
            if key in merged:
                if tag not in merged[key][1]:
                    merged[key][1].append(tag)
            else:
                merged[key] = (ev, [tag])

    def order(item: tuple[Evidence, list[tuple[str, str]]]) -> tuple[Any, ...]:
        ev = item[0]
        pos = timeline_index.get((ev.source, ev.line))
        return (pos is None, pos or 0, _ts_key(ev.ts), source_order.get(ev.source, len(source_order)), ev.source, ev.line)

    return sorted(merged.values(), key=order)


def _choose_evidence(
    evidence: list[tuple[Evidence, list[tuple[str, str]]]], assessments: list[Assessment], cap: int
) -> list[tuple[Evidence, list[tuple[str, str]]]]:
    """At most ``cap`` entries, preferring pinned, then supported, ruled-out, not-evidenced."""
    if len(evidence) <= cap:
        return evidence
    rank = {a.id: _config()["verdicts"][a.verdict.value]["order"] for a in assessments}
    rank_of = lambda item: min(rank.get(h, 9) for h, _ in item[1])  # noqa: E731
    keep = sorted(range(len(evidence)), key=lambda i: (rank_of(evidence[i]), i))[:cap]
    return [evidence[i] for i in sorted(keep)]


def _is_notable(event: Event) -> bool:
    kinds = _config()["failure"]["kinds"]
    return bool(event.hypothesis or event.step or event.direction or any(k in (event.kind or "").lower() for k in kinds))


def _line_fields(item: Evidence | Event, line_cap: int, same_day: str | None, names: dict[str, str]) -> dict[str, Any]:
    """The view fields every cited line has, whether it comes from evidence or the timeline."""
    return {
        "when": _when(item.ts, same_day),
        "ts": _iso(item.ts),
        "source": clean(item.source, 300),
        "line": item.line,
        "ref": clean(f"{names.get(item.source, item.source)}:{item.line}", 320),
        "text": clean(item.text, line_cap),
        "meaning": clean(item.meaning, 600),
    }


def _item_from_evidence(
    ev: Evidence, tags: list[tuple[str, str]], line_cap: int, same_day: str | None, names: dict[str, str]
) -> ItemView:
    direction = next((d for _, d in tags if d == "for"), None) or next((d for _, d in tags if d != "neutral"), "neutral")
    return ItemView(**_line_fields(ev, line_cap, same_day, names),
                    hypotheses=[clean(h, 80) for h, _ in tags], direction=direction)


def _item_from_event(e: Event, line_cap: int, same_day: str | None, names: dict[str, str]) -> ItemView:
    return ItemView(
        **_line_fields(e, line_cap, same_day, names),
        hypotheses=[clean(e.hypothesis, 80)] if e.hypothesis else [],
        direction=e.direction or "neutral",
        kind=clean(e.kind, 80),
        step=clean(e.step, 40),
    )


def _verdict_sentence(analysis: Analysis, assessments: list[Assessment]) -> str:
    """"Root cause PINNED to X; Y ruled out (exonerated); Z not evidenced here." (verdict order)."""
    verdicts = _config()["verdicts"]
    groups: dict[str, list[str]] = {}
    for a in assessments:
        groups.setdefault(a.verdict.value, []).append(a.id)
    parts = [
        verdicts[v]["headline"].format(ids=", ".join(groups[v]))
        for v in sorted(groups, key=lambda v: verdicts[v]["order"])
    ]
    if analysis.outcome is Outcome.PASSED:
        lead = "Run PASSED — nothing to pin"
    elif not any(a.verdict is Verdict.PINNED for a in assessments):
        step = f" at step {analysis.failed_step}" if analysis.failed_step else ""
        reason = "for a reason outside the five hypotheses" if analysis.primary == "unknown" else "without a pinned cause"
        lead = f"Run {_config()['outcomes'].get(analysis.outcome.value, analysis.outcome.value.upper())}{step} {reason} — nothing pinned"
    else:
        lead = ""
    return clean("; ".join(([lead] if lead else []) + parts) + ".", 2_000)


def _lever(analysis: Analysis, pinned: Assessment | None, cap: int) -> tuple[str, str]:
    if analysis.lever:
        return clean(analysis.lever, cap), ""
    if pinned and pinned.lever:
        return clean(pinned.lever, cap), pinned.id
    return "", ""


def _truncation_notes(
    *, evidence_shown: int, evidence_total: int, timeline_shown: int, timeline_notable: int,
    timeline_total: int, hyp_views: list[HypothesisView], notes_total: int, notes_cap: int, caps: Caps,
) -> list[str]:
    notes = []
    if evidence_shown < evidence_total:
        notes.append(f"EVIDENCE shows {evidence_shown} of {evidence_total} lines")
    if timeline_shown == 0 and timeline_notable:
        notes.append(f"the timeline ({timeline_notable} notable events) is omitted")
    elif timeline_shown < timeline_notable:
        notes.append(f"the timeline shows the last {timeline_shown} of {timeline_notable} notable events ({timeline_total} in all)")
    omitted_refs = sum(h.refs_omitted for h in hyp_views)
    if omitted_refs:
        notes.append(f"{omitted_refs} evidence references are omitted from DISCRIMINATION")
    if notes_total > notes_cap:
        notes.append(f"{notes_total - notes_cap} notes are omitted")
    if caps.line < _LADDER[0].line:
        notes.append(f"log lines are cut at {caps.line} and paragraphs at {caps.prose:,} characters")
    return notes


# --------------------------------------------------------------------------- timeline picture


@dataclass
class Band:
    x: float
    width: float
    label: str
    failed: bool
    show_label: bool
    label_row: int = 0   # 0 is the row nearest the lanes; labels that would overlap go higher
    label_x: float = 0.0
    label_anchor: str = "start"


@dataclass
class Mark:
    x: float
    y: float
    colour: str
    direction: str
    title: str


@dataclass
class Lane:
    y: float
    label: str
    colour: str
    pinned: bool


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Picture:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    lanes: list[Lane]
    bands: list[Band]
    marks: list[Mark]
    ticks: list[Tick]
    axis_title: str
    failure_x: float | None
    failure_label: str
    empty: bool


def _timeline_picture(analysis: Analysis, max_marks: int) -> Picture:
    """Geometry of the SVG: one lane per hypothesis plus a 'run' lane, step bands behind them."""
    config = _config()
    width, left, right, top, lane_h = 1000, 170, 980, 84, 30
    lane_ids = [*HYPOTHESES, "run"]
    lanes: list[Lane] = []
    for i, hid in enumerate(lane_ids):
        a = analysis.hypotheses.get(hid)
        verdict = a.verdict.value if a else "not-evidenced"
        lanes.append(Lane(
            y=top + i * lane_h + lane_h / 2,
            label=hid if hid != "run" else "run / steps",
            colour=config["verdicts"][verdict]["colour"] if hid != "run" else "#455a64",
            pinned=bool(a and a.verdict is Verdict.PINNED),
        ))
    bottom = top + len(lane_ids) * lane_h
    height = bottom + 50
    events = analysis.timeline
    if not events:
        return Picture(width, height, left, right, top, bottom, lanes, [], [], [], "no events recognised", None, "", True)

    positions, axis_title, ticks = _positions(events, left, right)
    lane_y = {hid: lane.y for hid, lane in zip(lane_ids, lanes)}

    failure_index = _failure_index(analysis)
    bands = _bands(events, positions, analysis.failed_step, right)
    order = sorted(range(len(events)), key=lambda i: (events[i].hypothesis is None, events[i].direction is None))
    keep = set(order[:max_marks])
    marks = []
    colours = config["directions"]
    for i in sorted(keep):
        e = events[i]
        direction = e.direction if e.direction in ("for", "against") else "neutral"
        lane = e.hypothesis if e.hypothesis in lane_y else "run"
        title = f"{_iso(e.ts) or 'no timestamp'}  {e.source}:{e.line}  [{e.kind}]  {e.text}"
        marks.append(Mark(x=positions[i], y=lane_y[lane], colour=colours[direction], direction=direction, title=clean(title, 400)))
    failure_x = positions[failure_index] if failure_index is not None else None
    failure_label = ""
    if failure_index is not None:
        e = events[failure_index]
        failure_label = clean(f"failure {_hms(e.ts) or f'line {e.line}'}", 60)
    return Picture(width, height, left, right, top, bottom, lanes, bands, marks, ticks, axis_title, failure_x, failure_label, False)


def _positions(events: Sequence[Event], left: float, right: float) -> tuple[list[float], str, list[Tick]]:
    """x of every event: by time when at least two distinct timestamps exist, else file order."""
    stamps = [_utc(e.ts) for e in events]
    known = [s for s in stamps if s is not None]
    span = (max(known) - min(known)).total_seconds() if len(known) >= 2 else 0.0
    plot = right - left
    if span <= 0 or len(known) * 2 < len(events):
        n = max(len(events) - 1, 1)
        xs = [left + plot * i / n for i in range(len(events))]
        step = max(1, len(events) // 6)
        ticks = [Tick(xs[i], f"#{i + 1}") for i in range(0, len(events), step)]
        return xs, "event order in the files (timestamps missing)", ticks
    start = min(known)
    filled: list[datetime] = []
    last = next(s for s in stamps if s is not None)
    for s in stamps:  # a line without a timestamp sits where the line before it sat
        last = s if s is not None else last
        filled.append(last)
    xs = [left + plot * (s - start).total_seconds() / span for s in filled]
    multi_day = min(known).date() != max(known).date()
    ticks = []
    for k in range(7):
        seconds = span * k / 6
        moment = datetime.fromtimestamp(start.timestamp() + seconds, tz=timezone.utc)
        label = moment.strftime("%m-%d %H:%M:%S" if multi_day else "%H:%M:%S")
        ticks.append(Tick(left + plot * k / 6, label))
    date = "" if multi_day else f" on {start.date().isoformat()}"
    return xs, f"time (UTC{date})", ticks


def _bands(events: Sequence[Event], xs: list[float], failed_step: str | None, right: float) -> list[Band]:
    """One band per step, from its first event to the next step's first event."""
    starts: list[tuple[str, float]] = []
    seen: set[str] = set()
    for e, x in zip(events, xs):
        if e.step and e.step not in seen:
            seen.add(e.step)
            starts.append((e.step, x))
    bands = []
    for i, (step, x) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else max(xs[-1], x + 4)
        end = min(max(end, x + 4), right)
        width = end - x
        bands.append(Band(x=x, width=width, label=clean(step, 40), failed=step == failed_step, show_label=False))
    _place_labels(bands, right)
    return bands


def _place_labels(bands: list[Band], right: float, rows: int = 3, char_width: float = 6.8) -> None:
    """Greedy: each band label goes on the lowest row where it overlaps no label already there;
    the failed step's label is placed first so it always shows. A label that would run past the
    right edge ends at the edge. Hidden labels stay in the band's tooltip."""
    taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    for band in sorted(bands, key=lambda b: (not b.failed, b.x)):
        need = len(band.label) * char_width + 10
        start = band.x if band.x + need <= right else right - need
        band.label_anchor = "start" if start == band.x else "end"
        band.label_x = band.x + 3 if start == band.x else right
        for row in range(rows):
            if all(start + need <= a or start >= b for a, b in taken[row]):
                taken[row].append((start, start + need))
                band.show_label, band.label_row = True, row
                break


def _failure_index(analysis: Analysis) -> int | None:
    """The event where the run visibly failed, None for a passed run. In order of preference:
    the engine's ``context["first_failure"]``; the last failure-kind event of the failed step; the first failure-kind event (later ones are
    usually the cascade: CI step failed, job failed); the last event of the failed step; the last event."""
    if analysis.outcome is Outcome.PASSED or not analysis.timeline:
        return None
    kinds = _config()["failure"]["kinds"]
    events = analysis.timeline
    named = analysis.context.get("first_failure")  # the engine's own pick, when it made one
    if isinstance(named, dict):
        for i, e in enumerate(events):
            if e.source == named.get("source") and e.line == named.get("line"):
                return i
    failing = [i for i, e in enumerate(events) if any(k in (e.kind or "").lower() for k in kinds)]
    on_step = [i for i in failing if analysis.failed_step and events[i].step == analysis.failed_step]
    if on_step:
        return on_step[-1]
    if failing:
        return failing[0]
    in_step = [i for i, e in enumerate(events) if analysis.failed_step and e.step == analysis.failed_step]
    return in_step[-1] if in_step else len(events) - 1


# --------------------------------------------------------------------------- small helpers


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _ts_key(ts: datetime | None) -> tuple[bool, float]:
    u = _utc(ts)
    return (u is None, u.timestamp() if u else 0.0)


def _iso(ts: datetime | None) -> str | None:
    u = _utc(ts)
    return u.strftime("%Y-%m-%dT%H:%M:%SZ") if u else None


def _hms(ts: datetime | None) -> str:
    u = _utc(ts)
    return u.strftime("%H:%M:%S") if u else ""


def _when(ts: datetime | None, same_day: str | None) -> str:
    u = _utc(ts)
    if u is None:
        return "--:--:--"
    return u.strftime("%H:%M:%S") if same_day else u.strftime("%Y-%m-%d %H:%M:%S")


def _single_date(stamps: Iterable[datetime | None]) -> str | None:
    dates = {u.date().isoformat() for u in (_utc(s) for s in stamps) if u is not None}
    return dates.pop() if len(dates) == 1 else None


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _hard_cut(text: str, budget: int) -> str:
    """Last resort (the ladder should always fit): cut on a line boundary and say so."""
    note = "\n\n> ⚠️ **Truncated**: this comment was cut to fit the comment size limit; run `forensics analyze --format json` for the full analysis.\n"
    room = budget - md_length(note)
    lines, used = [], 0
    for line in text.splitlines():
        size = md_length(line) + 1
        if used + size > room:
            break
        lines.append(line)
        used += size
    # A cut inside a fenced block would leave it open; close any fence still open.
    fences = [ln for ln in lines if ln.startswith("```")]
    closing = "\n" + fences[-1].rstrip("text") if len(fences) % 2 else ""
    return "\n".join(lines) + closing + note


@cache
def _config() -> dict[str, Any]:
    raw = resources.files("forensics").joinpath(_TEMPLATES, "render.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


@cache
def _md_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics", _TEMPLATES),
        autoescape=False,  # markdown: every value goes through md_code / md_prose instead
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = md_code
    env.filters["prose"] = md_prose
    env.filters["para"] = md_paragraph
    env.filters["timeline_block"] = md_timeline
    return env


@cache
def _html_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["r1"] = lambda x: f"{x:.1f}"
    env.filters["prose"] = html_prose
    env.globals["config"] = _config()
    return env
