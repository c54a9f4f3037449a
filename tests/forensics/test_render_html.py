"""The standalone HTML page: well-formed, self-contained, escaped, and the timeline drawn as SVG."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

from forensics.model import HYPOTHESES, STEPS, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.render import render, render_html

try:  # tests/forensics may or may not be a package, depending on who added __init__.py
    from . import render_samples as samples
except ImportError:
    import render_samples as samples

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_LEAVES = {"rect", "circle", "line", "path", "polygon", "polyline", "ellipse"}


class Tree(HTMLParser):
    """Checks every non-void element is closed in order; records tags and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tree:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert tree.errors == [] and tree.stack == [], (tree.errors, tree.stack)
    return tree


def circles(tree: Tree) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in tree.tags if tag == "circle"]


def test_seed_page_is_well_formed_and_self_contained():
    page = render(samples.seed_analysis(), "html")
    assert page.startswith("<!DOCTYPE html>")
    tree = parse(page)
    names = [t for t, _ in tree.tags]
    assert names.count("svg") == 1 and "style" in names
    assert "script" not in names and "link" not in names and "img" not in names
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|@import|url\(""", page)
    text = " ".join(tree.text)
    assert "Root cause PINNED to destructive-restart" in text
    assert "platform.log:4410" in text and "08:33:46" in text
    assert "decouple proxy degradation" in text          # the lever
    assert "seen in 3 of the last 10 runs" in text       # notes


def test_verdict_table_has_all_five():
    tree = parse(render_html(samples.seed_analysis()))
    rows, current = [], None
    for tag, attrs in tree.tags:
        if tag == "tr":
            current = attrs.get("class")
            rows.append(current)
    text = " ".join(tree.text)
    for label in ("PINNED", "RULED OUT", "NOT EVIDENCED"):
        assert label in text
    assert rows.count("pinned") == 1
    for hid in HYPOTHESES:
        assert hid in text


def test_svg_draws_every_event_steps_and_the_failure_point():
    analysis = samples.seed_analysis()
    tree = parse(render_html(analysis))
    marks = circles(tree)
    assert len(marks) == len(analysis.timeline)
    assert sum(1 for m in marks if m.get("fill") == "#d32f2f") == 3        # three lines point to the pinned cause
    assert sum(1 for m in marks if m.get("stroke") == "#2e7d32") == 7       # seven rule things out
    failure = [a for t, a in tree.tags if t == "line" and a.get("stroke-dasharray")]
    assert len(failure) == 1
    xs = [float(m["cx"]) for m in marks]
    # the failure line sits at the last 'fail' event (08:34:16), right of every mark before it
    assert float(failure[0]["x1"]) == max(x for x in xs if x <= float(failure[0]["x1"]))
    failed_bands = [a for t, a in tree.tags if t == "rect" and a.get("stroke") == "#c62828"]
    assert len(failed_bands) == 1
    assert "✕ failure 08:34:16" in " ".join(tree.text)
    step_titles = [s for s in tree.text if s.startswith("step ") and s.split()[1] in STEPS]
    assert len(step_titles) == 9 and "step known-answer (failed)" in step_titles


def test_log_text_is_escaped():
    analysis = samples.seed_analysis()
    evil = "<script>alert(1)</script> <!-- x --> \" onload=\"x\" ]]> </svg>"
    analysis.timeline.append(Event("runner.log", 200, None, "fail", evil, hypothesis="destructive-restart", direction="for"))
    analysis.hypotheses["destructive-restart"].evidence.append(Evidence("run<b>.log", 200, evil, None, evil, "for"))
    analysis.hypotheses["llm-401"].why = evil
    analysis.notes.append(evil)
    page = render_html(analysis)
    tree = parse(page)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert [t for t, _ in tree.tags].count("svg") == 1
    assert "<b>" not in page
    assert any(evil in chunk for chunk in tree.text)  # shown verbatim to the reader


def test_missing_timestamps_fall_back_to_file_order():
    analysis = samples.unknown_analysis()
    tree = parse(render_html(analysis))
    marks = circles(tree)
    xs = [float(m["cx"]) for m in marks]
    assert xs == sorted(xs) and len(set(xs)) == len(xs) == 4
    assert "event order in the files (timestamps missing)" in " ".join(tree.text)
    assert "terminal diagnose failed" in " ".join(tree.text)


def test_time_axis_when_timestamps_present():
    tree = parse(render_html(samples.unknown_analysis(with_timestamps=True)))
    text = " ".join(tree.text)
    assert "time (UTC on 2026-06-15)" in text and "09:00:00" in text


def test_passed_run_has_no_failure_mark():
    page = render_html(samples.passed_analysis())
    tree = parse(page)
    assert not [a for t, a in tree.tags if t == "line" and a.get("stroke-dasharray")]
    assert "PASSED" in " ".join(tree.text) and "Failed at" not in " ".join(tree.text)


def test_empty_analysis_renders():
    hyps = {h: Assessment(h, Verdict.NOT_EVIDENCED, "nothing") for h in HYPOTHESES}
    analysis = Analysis(Outcome.INCONCLUSIVE, None, None, hyps, [], ["empty.log"])
    tree = parse(render_html(analysis))
    assert "no events recognised in these logs" in " ".join(tree.text)
    assert not circles(tree)


def test_large_timeline_is_capped():
    t0 = datetime(2026, 6, 15, 8, 0)
    events = [Event("r.log", i + 1, t0 + timedelta(seconds=i), "a2a", f"line {i}", hypothesis=HYPOTHESES[i % 5],
                    direction="for", step="known-answer") for i in range(6_000)]
    hyps = {h: Assessment(h, Verdict.NOT_EVIDENCED, "x") for h in HYPOTHESES}
    tree = parse(render_html(Analysis(Outcome.FAILED, "unknown", "known-answer", hyps, events, ["r.log"])))
    assert len(circles(tree)) == 1500
    assert "last 2000 of 6000" in " ".join(tree.text)


def test_redaction_in_html():
    analysis = samples.seed_analysis()
    analysis.hypotheses["llm-401"].evidence.append(
        Evidence("runner.log", 9, "Authorization: Bearer abcdef1234567890secret", None, "key sk-abcdefghijklmnop1234"))
    page = render_html(analysis)
    assert "abcdef1234567890secret" not in page and "sk-abcdefghijklmnop1234" not in page
    assert "[REDACTED]" in page
