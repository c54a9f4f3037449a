"""Blind robustness round 2: labelled logs written from the seed and the line catalogue only.

``fixtures/logs/blind-r2/`` (regenerate with its ``build.py``) holds noisy Gitea/GitHub logs with
set -x traces that quote failure words, retried transient 503s, a child runtime that fails while
the parent boots, error-as-text replies, a /buildinfo mismatch, a stuck cold boot, CPU evidence
only in a platform log, BOM/CRLF/ANSI, .gz, latin-1 bytes, a 5 MB line and an empty file. Each
case runs through the real CLI and is checked against its label and the evidence-line contract.
"""

from __future__ import annotations

import json

import pytest

from tests.forensics.test_corpus import ROOT, check_labelled_case

BASE = ROOT / "fixtures" / "logs" / "blind-r2"
CASES = json.loads((BASE / "labels.json").read_text())["cases"]
# Known engine gaps outside this round's files, kept visible (strict: the day they are fixed the
# xfail turns into a failure and must be removed).
KNOWN_GAPS = {
    "huge-line-401-at-end": "sources/fastmatch keep only the first LINE_CAP (64 KiB) of a line; "
                            "a cause marker at the end of a 5 MB line is never seen",
}


def _param(case: dict):  # noqa: ANN202
    gap = KNOWN_GAPS.get(case["id"])
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_blind_r2_case(case: dict) -> None:
    """Verdict per label; evidence lines real; secrets absent; a pin shows its lines."""
    check_labelled_case(BASE, case)
