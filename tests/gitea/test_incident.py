"""Pure comment-body logic: signatures, markers, sightings, the 65,536-character limit."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from forensics import incident
from forensics.incident import Sighting


def test_signature_precedence() -> None:
    md = "<!-- forensics:signature=from-marker -->\n# Headline\n"
    rca = json.dumps({"signature": "from-json"})
    assert incident.choose_signature(md, explicit="from-flag", rca_json=rca) == "from-flag"
    assert incident.choose_signature(md, rca_json=rca) == "from-json"
    assert incident.choose_signature(md, rca_json=json.dumps({"signature": ""})) == "from-marker"
    assert incident.choose_signature("# Headline\n").startswith("h-")


def test_unsafe_signatures_are_hashed() -> None:
    for raw in ("a b", "x-->y", "<script>", "a--b", "é"):
        sig = incident.normalize_signature(raw)
        assert sig.startswith("h-") and incident.MARKER_RE.search(incident.marker(sig)).group("sig") == sig
    for kept in ("destructive-restart:known-answer", "destructive-restart@known-answer"):
        assert incident.normalize_signature(kept) == kept


def test_headline_hash_ignores_ids_and_times_but_not_words() -> None:
    a = incident.headline_signature("# **RCA**: restart at 08:33:46, job 506813, sha 0a1b2c3d4e\nrest")
    b = incident.headline_signature("\n# RCA: restart at 09:01:02, job 506999, sha 99ffee1122\nother")
    c = incident.headline_signature("# RCA: llm-401 at 09:01:02, job 506999\n")
    assert a == b != c


def test_sightings_append_in_order_and_count() -> None:
    body = incident.first_body("# H\ntext\n", "sig", "<sub>footer</sub>")
    for run in ("1", "2", "3"):
        body = incident.add_sighting(body, Sighting("2026-06-15T08:34:16Z", run))
    assert body.count("- seen again at") == 3 and body.index("run 1") < body.index("run 3")
    assert incident.sightings_count(body) == 3 and incident.signature_of(body) == "sig"


def test_sightings_fold_when_the_limit_is_reached() -> None:
    body = incident.first_body("# H\n" + "y" * 900, "sig", "f", limit=2_000)
    for run in range(200):
        body = incident.add_sighting(body, Sighting("2026-06-15T08:34:16Z", str(run)), limit=2_000)
        assert len(body) <= 2_000
    assert incident.sightings_count(body) == 200
    assert "earlier sightings not listed" in body and body.rstrip().endswith("run 199")
    assert body.startswith(incident.marker("sig")) and "y" * 900 in body


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=3000), st.integers(min_value=600, max_value=3000))
def test_first_body_always_within_limit_and_marked(markdown: str, limit: int) -> None:
    body = incident.first_body(markdown, "sig-1", "footer", limit=limit)
    assert len(body) <= limit and incident.signature_of(body) == "sig-1"


def test_resolved_body_carries_run_marker() -> None:
    body = incident.resolved_body("42", "https://git.example.com/o/r/actions/runs/42", "2026-06-15T09:00:00Z")
    assert incident.RESOLVED_RE.search(body).group("run") == "42" and "Green again" in body
