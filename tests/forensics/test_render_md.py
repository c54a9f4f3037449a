"""The markdown RCA comment: structure, verdicts, break-out safety, size limit, redaction."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from forensics.model import HYPOTHESES, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.render import md_code, md_length, md_paragraph, md_prose, render, render_md

try:  # tests/forensics may or may not be a package, depending on who added __init__.py
    from . import render_samples as samples
except ImportError:
    import render_samples as samples

try:  # markdown-it-py (a dev dependency) is the CommonMark oracle for the break-out tests
    import markdown_it
except ImportError:  # pragma: no cover - only the parser-backed tests are skipped, and they say why
    markdown_it = None
needs_parser = pytest.mark.skipif(markdown_it is None, reason="markdown-it-py is not installed (pip install markdown-it-py)")
ZWSP = "\u200b"
LIMIT = 65_536


def parse(md: str):
    return markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(md)


def inline_tokens(md: str):
    for token in parse(md):
        yield token
        yield from token.children or ()


def discrimination(md: str) -> list[tuple[str, str]]:
    section = md.split("**DISCRIMINATION**", 1)[1].split("**LEVER", 1)[0]
    return re.findall(r"^- \*\*([a-z0-9-]+) — ([A-Z ]+?)(?: \(primary\))?\.\*\*", section, flags=re.M)


# --------------------------------------------------------------------------- structure


def test_seed_comment_reads_like_the_seed():
    md = render(samples.seed_analysis(), "md")
    assert md.startswith("**RCA — run FAILED at step `known-answer`.** workflow `E2E Staging Platform Boot`, "
                         "job `506813`, run `369624`.\n")
    assert "\n**Root cause PINNED to destructive-restart (destructive auto-restart on a transient A2A 503, #2917 class) " \
           "at step known-answer; cold-boot-crash and llm-401 exonerated;" in md
    for heading in ("**MECHANISM.**", "**FAILED AT**", "**EVIDENCE** (all timestamps 2026-06-15 UTC)",
                    "**DISCRIMINATION**", "**LEVER.**", "**NOTES.**", "**Refs:**"):
        assert heading in md, heading
    order = [md.index(h) for h in ("**MECHANISM.**", "**EVIDENCE**", "**DISCRIMINATION**", "**LEVER.**", "**Refs:**")]
    assert order == sorted(order)
    # timestamped evidence bullets with the cited line and its file:line
    assert "- `08:33:46` `[08:33:46] ✅ A2A parent round-trip succeeded: PONG` → transport and liveness alive" in md
    assert "`platform.log:4410`" in md and "`runner.log:75`" in md
    # evidence in time order
    times = re.findall(r"^- `(\d\d:\d\d:\d\d)`", md.split("**EVIDENCE**")[1].split("**DISCRIMINATION**")[0], flags=re.M)
    assert times == sorted(times) and len(times) >= 8
    assert "seen in 3 of the last 10 runs" in md
    assert "#2917 (closed; same signature)" in md


def test_verdict_sentence_is_composed_when_the_engine_gave_no_headline():
    analysis = samples.seed_analysis()
    analysis.headline = ""
    assert "\n**Root cause PINNED to destructive-restart; llm-401, cold-boot-crash ruled out (exonerated); " \
           "cpu-exhaustion, deploy-lag not evidenced here.**\n" in render_md(analysis)


def test_every_hypothesis_has_its_verdict_pinned_first():
    md = render(samples.seed_analysis(), "md")
    verdicts = discrimination(md)
    assert verdicts == [
        ("destructive-restart", "PINNED"),
        ("llm-401", "RULED OUT"),
        ("cold-boot-crash", "RULED OUT"),
        ("cpu-exhaustion", "NOT EVIDENCED"),
        ("deploy-lag", "NOT EVIDENCED"),
    ]
    assert "destructive-restart — PINNED (primary).**" in md


def test_missing_hypothesis_still_listed_as_not_evidenced():
    analysis = samples.seed_analysis()
    del analysis.hypotheses["deploy-lag"]
    assert ("deploy-lag", "NOT EVIDENCED") in discrimination(render_md(analysis))
    assert {h for h, _ in discrimination(render_md(analysis))} == set(HYPOTHESES)


def test_passed_run():
    md = render(samples.passed_analysis(), "md")
    assert md.startswith("**RCA — run PASSED.**")
    assert "\n**Platform Boot passed.**\n" in md  # the engine's headline
    analysis = samples.passed_analysis()
    analysis.headline = ""
    assert "**Run PASSED — nothing to pin; llm-401, cold-boot-crash, cpu-exhaustion, destructive-restart, " \
           "deploy-lag not evidenced here.**" in render_md(analysis)
    assert "FAILED AT" not in md and "PINNED" not in md and "**LEVER" not in md
    assert len(discrimination(md)) == 5


def test_unknown_primary_pins_nothing_and_shows_the_failure():
    md = render(samples.unknown_analysis(), "md")
    assert "for a reason outside the five hypotheses — nothing pinned" in md
    assert all(label != "PINNED" for _, label in discrimination(md))
    assert "**FAILED AT** `--:--:--` `❌ Workspace 5b1f0c9e terminal diagnose failed at step 'ssh'" in md
    assert "the cause is outside the five known mechanisms" in md


@needs_parser
def test_comment_is_valid_commonmark_with_one_details_block():
    md = render(samples.seed_analysis(), "md")
    html_blocks = [t.content.strip() for t in parse(md) if t.type == "html_block"]
    assert html_blocks[0].startswith("<details><summary>Timeline — 17 notable events")
    assert html_blocks[1:] == ["</details>"]
    assert not [t for t in inline_tokens(md) if t.type == "html_inline"]
    fences = [t for t in parse(md) if t.type == "fence"]
    assert len(fences) == 1 and "platform.log:4410" in fences[0].content


# --------------------------------------------------------------------------- break-out safety

EVIL = [
    "``` end of fence ``` and ```` four",
    "`single` and ``double`` ticks`",
    "<script>alert('x')</script>",
    "<!-- hidden --> and a stray -->",
    "ping @admin and @org/team, mail a@b.c",
    "| a | b | *bold* _em_ [link](http://evil) ![img](x)",
    "</details><details open>",
    "# not a heading",
    "cost $x^2$ and $$y$$",
]


def evil_analysis() -> Analysis:
    analysis = samples.seed_analysis()
    t0 = datetime(2026, 6, 15, 8, 35)
    events = [
        Event(source="run`x`.log", line=i + 1, ts=t0 + timedelta(seconds=i), kind="fail", text=text,
              hypothesis="destructive-restart", direction="for", step="known-answer", meaning=text)
        for i, text in enumerate(EVIL)
    ]
    analysis.timeline = analysis.timeline + events
    pinned = analysis.hypotheses["destructive-restart"]
    pinned.evidence = pinned.evidence + [
        Evidence(e.source, e.line, e.text, e.ts, e.meaning, e.direction) for e in events
    ]
    pinned.why = " ".join(EVIL)
    analysis.mechanism = "\n".join(EVIL)
    analysis.notes = EVIL[:]
    analysis.headline = EVIL[2] + " " + EVIL[4]
    analysis.refs = ["@admin please look", "<b>bold</b>"]
    return analysis


@needs_parser
def test_log_lines_cannot_break_out():
    md = render_md(evil_analysis())
    tokens = list(inline_tokens(md))
    assert not [t.content for t in tokens if t.type == "html_inline"]
    html_blocks = [t.content.strip() for t in parse(md) if t.type == "html_block"]
    assert len(html_blocks) == 2 and html_blocks[1] == "</details>"
    assert not [t for t in tokens if t.type in ("link_open", "image", "heading_open", "table_open", "s_open")]
    codes = {t.content for t in tokens if t.type == "code_inline"}
    fence = next(t.content for t in parse(md) if t.type == "fence")
    for text in EVIL:
        shown = text.replace("@a", "@" + ZWSP + "a").replace("@o", "@" + ZWSP + "o")
        assert shown in codes, text          # every evil line shows verbatim inside one code span
        assert shown in fence, text          # ... and in the timeline block
    rendered = markdown_it.MarkdownIt("commonmark").render(md)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "<!-- hidden" not in rendered


def test_mentions_never_ping():
    md = render_md(evil_analysis())
    assert re.search(r"(?<![\w@])@(admin|org)", md) is None
    assert "@" + ZWSP + "admin" in md
    assert "a@b.c" in md  # e-mail addresses are left alone


@needs_parser
def test_strong_emphasis_is_only_ours():
    md = render_md(evil_analysis())
    strong_texts = []
    tokens = list(inline_tokens(md))
    for i, t in enumerate(tokens):
        if t.type == "strong_open":
            strong_texts.append(tokens[i + 1].content)
    assert all("bold" not in s for s in strong_texts)


@needs_parser
@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(str.strip))
def test_code_span_round_trips(text):
    tokens = [t for t in inline_tokens("x " + md_code(text)) if t.type in ("code_inline", "html_inline", "text")]
    codes = [t.content for t in tokens if t.type == "code_inline"]
    assert codes == [re.sub(r"(?<![\w@/`])@(?=[A-Za-z0-9_])", "@" + ZWSP, text)]


@needs_parser
@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="`"), max_size=80))
@example("@_")  # a mention whose name starts with "_" (escaping must not shield it)
def test_prose_is_plain_text(text):
    md = md_paragraph(text)
    blocks = parse(md)
    assert [t.type for t in blocks if t.type not in ("inline",)] in ([], ["paragraph_open", "paragraph_close"])
    children = [c for t in blocks for c in (t.children or ())]
    assert {c.type for c in children} <= {"text"}
    flat = re.sub(r"\s+", " ", text).strip()
    assert "".join(c.content for c in children) == re.sub(r"(?<![\w@/`])@(?=[A-Za-z0-9_])", "@" + ZWSP, flat)


def test_display_names_are_short_unless_ambiguous():
    analysis = samples.seed_analysis()
    analysis.sources = ["/tmp/job/runner.log", "a/platform.log", "b/platform.log"]
    analysis.timeline = [
        Event(src, i + 1, None, "fail", f"boom {i}", hypothesis="destructive-restart", direction="for")
        for i, src in enumerate(analysis.sources)
    ]
    for assessment in analysis.hypotheses.values():
        assessment.evidence = [Evidence(e.source, e.line, e.text) for e in analysis.timeline if e.hypothesis == assessment.id]
    md = render_md(analysis)
    assert "`runner.log:1`" in md and "`a/platform.log:2`" in md and "`b/platform.log:3`" in md
    assert "`/tmp/job/runner.log`" in md  # the Refs line keeps the path as given


def test_prose_backtick_pairs_become_code():
    assert md_prose("debounce `IsRunning=false` now") == "debounce `IsRunning=false` now"
    assert md_prose("a lone ` tick <b>") == "a lone \\` tick \\<b\\>"
    assert md_prose("costs $5 or $x$") == "costs \\$5 or \\$x\\$"


# --------------------------------------------------------------------------- size limit


def huge_analysis() -> Analysis:
    t0 = datetime(2026, 6, 15, 8, 0)
    long_line = "x" * 3_000 + " ``` " + "y" * 3_000
    events = [
        Event(source="runner.log", line=i + 1, ts=t0 + timedelta(seconds=i), kind="a2a-agent-origin",
              text=f"{i} {long_line}", hypothesis=HYPOTHESES[i % 5], direction=("for", "against")[i % 2],
              step="known-answer", meaning="m" * 200)
        for i in range(8_000)
    ]
    hyps = {
        h: Assessment(h, Verdict.PINNED if h == "destructive-restart" else Verdict.RULED_OUT, "why " * 20_000,
                      [Evidence(e.source, e.line, e.text, e.ts, e.meaning, e.direction) for e in events if e.hypothesis == h],
                      title="t" * 5_000, lever="lever " * 5_000)
        for h in HYPOTHESES
    }
    return Analysis(Outcome.FAILED, "destructive-restart", "known-answer", hyps, events, ["runner.log"],
                    headline="h " * 50_000, mechanism="m " * 50_000, lever="l " * 50_000,
                    refs=["r" * 1_000] * 500, notes=["n " * 10_000] * 100, context={f"k{i}": "v" * 500 for i in range(200)})


def test_huge_analysis_fits_github_limit_with_a_note():
    md = render(huge_analysis(), "md")
    assert md_length(md) <= LIMIT - 1024
    assert "Truncated to fit the 65,536-character comment limit" in md
    assert [v for _, v in discrimination(md)] == ["PINNED", "RULED OUT", "RULED OUT", "RULED OUT", "RULED OUT"]
    assert md.count("\n- `") == 5  # the last rung keeps five evidence bullets


def test_moderate_analysis_trims_timeline_before_evidence():
    analysis = samples.seed_analysis()
    t0 = datetime(2026, 6, 15, 8, 36)
    analysis.timeline = analysis.timeline + [
        Event("runner.log", 1000 + i, t0 + timedelta(seconds=i), "step", "[..] heartbeat " + "z" * 300, step="teardown")
        for i in range(400)
    ]
    md = render_md(analysis)
    assert md_length(md) <= LIMIT - 1024
    assert "timeline shows the last" in md
    assert "EVIDENCE shows" not in md  # every evidence line survived
    assert md.count("`platform.log:4410`") >= 2


def test_explicit_small_limit_still_keeps_every_verdict():
    md = render_md(samples.seed_analysis(), limit=3_500)
    assert md_length(md) <= 3_500
    assert len(discrimination(md)) == 5


def test_astral_characters_count_double():
    assert md_length("😀") == 2 and md_length("é") == 1


# --------------------------------------------------------------------------- redaction


def test_secrets_that_slipped_through_are_redacted():
    analysis = samples.seed_analysis()
    leak = "curl -H 'Authorization: Bearer abcdef1234567890secret' https://t/?token=qwerty123456"
    analysis.hypotheses["destructive-restart"].evidence.append(Evidence("runner.log", 99, leak, None, "ghp_" + "a" * 36))
    analysis.notes.append("key sk-abcdefghijklmnop1234 leaked")
    md = render_md(analysis)
    for secret in ("abcdef1234567890secret", "qwerty123456", "ghp_" + "a" * 36, "sk-abcdefghijklmnop1234"):
        assert secret not in md
    assert "[REDACTED]" in md


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError):
        render(samples.seed_analysis(), "pdf")
