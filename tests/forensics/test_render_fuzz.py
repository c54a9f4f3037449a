"""Arbitrary analyses (any text, missing timestamps, odd kinds) render in every format without error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.model import HYPOTHESES, STEPS, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.render import md_length, render

TEXT = st.text(max_size=120)
T0 = datetime(2026, 6, 15, 8, 0)


@st.composite
def analyses(draw) -> Analysis:
    n = draw(st.integers(0, 25))
    events = []
    for i in range(n):
        ts = draw(st.one_of(st.none(), st.integers(0, 7_200).map(lambda s: T0 + timedelta(seconds=s))))
        events.append(Event(
            source=draw(st.sampled_from(["runner.log", "a/platform.log", "b/platform.log", "we`ird <x>.log"])),
            line=i + 1, ts=ts, kind=draw(st.sampled_from(["step", "fail", "ok", "", "exit-nonzero"])), text=draw(TEXT),
            hypothesis=draw(st.one_of(st.none(), st.sampled_from(HYPOTHESES))),
            direction=draw(st.sampled_from([None, "for", "against"])),
            step=draw(st.one_of(st.none(), st.sampled_from(STEPS))), meaning=draw(st.one_of(st.none(), TEXT)),
        ))
    outcome = draw(st.sampled_from(list(Outcome)))
    pinned = draw(st.one_of(st.none(), st.sampled_from(HYPOTHESES))) if outcome is Outcome.FAILED else None
    hyps = {}
    for h in HYPOTHESES:
        verdict = Verdict.PINNED if h == pinned else draw(st.sampled_from([Verdict.SUPPORTED, Verdict.NOT_EVIDENCED, Verdict.RULED_OUT]))
        evidence = [Evidence(e.source, e.line, e.text, e.ts, e.meaning, e.direction) for e in events if e.hypothesis == h]
        hyps[h] = Assessment(h, verdict, draw(TEXT), evidence, title=draw(TEXT), lever=draw(st.one_of(st.none(), TEXT)))
    return Analysis(
        outcome=outcome, primary=pinned or ("unknown" if outcome is Outcome.FAILED else None),
        failed_step=draw(st.one_of(st.none(), st.sampled_from(STEPS))), hypotheses=hyps, timeline=events,
        sources=sorted({e.source for e in events}), headline=draw(TEXT), mechanism=draw(TEXT),
        lever=draw(st.one_of(st.none(), TEXT)), signature=draw(TEXT), refs=draw(st.lists(TEXT, max_size=3)),
        context=draw(st.dictionaries(st.sampled_from(["job", "run", "workflow", "x"]), st.one_of(TEXT, st.integers()), max_size=3)),
        notes=draw(st.lists(TEXT, max_size=3)),
    )


class Balanced(HTMLParser):
    VOID = {"br", "meta", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.bad = 0
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.bad += 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(analyses())
def test_any_analysis_renders_in_every_format(analysis):
    md = render(analysis, "md")
    assert md_length(md) <= 65_536
    assert all(f"**{h} — " in md for h in HYPOTHESES)
    page = render(analysis, "html")
    parser = Balanced()
    parser.feed(page)
    parser.close()
    assert parser.bad == 0 and parser.stack == [] and parser.scripts == 0
    assert json.loads(render(analysis, "json"))["schema"] == "rca/v1"
