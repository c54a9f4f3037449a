"""Incident-comment bodies: pure text in, text out (no I/O).

Invariants:
- A forensics comment starts with the hidden marker ``<!-- forensics:signature=<sig> -->``;
  ``<sig>`` matches SIGNATURE_RE, so the marker is unambiguous and never contains ``--``.
- Sightings ("seen again at <time>, run <id>") live after SIGHTINGS_MARK, one per line, and
  are only ever appended; when the body would pass the limit the oldest ones are folded into
  an "N earlier sightings not listed" line.
- Every body returned here is at most ``limit`` characters (default COMMENT_LIMIT).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from forensics.gitea import COMMENT_LIMIT

SIGNATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}$")
MARKER_RE = re.compile(r"<!--\s*forensics:signature=(?P<sig>[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127})\s*-->")
SIGHTINGS_MARK = "<!-- forensics:sightings -->"
OMITTED_RE = re.compile(r"^- _\((?P<n>\d+) earlier sightings? not listed\)_$")
RESOLVED_RE = re.compile(r"<!--\s*forensics:resolved run=(?P<run>[^\s>]*)\s*-->")
TRUNCATION_NOTE = (
    "\n\n> _RCA truncated to fit the 65,536-character comment limit; the full report is in the run's "
    "`reports/` artifact._\n"
)
RESERVE_FOR_SIGHTINGS = 4_000   # room kept free in a first post so a few sightings fit unfolded


@dataclass(frozen=True, slots=True)
class Sighting:
    when: str               # UTC ISO time, e.g. 2026-06-15T08:34:16Z
    run: str                # run id ("" when unknown)
    url: str | None = None  # link to the run, when known

    def line(self) -> str:
        run = self.run or "unknown"
        return f"- seen again at {self.when}, run [{run}]({self.url})" if self.url else f"- seen again at {self.when}, run {run}"


def marker(signature: str) -> str:
    return f"<!-- forensics:signature={signature} -->"


def normalize_signature(raw: str) -> str:
    """A user- or data-given signature made marker-safe; unusual ones become 'h-<sha256[:16]>'."""
    raw = raw.strip()
    if SIGNATURE_RE.match(raw) and "--" not in raw:
        return raw
    return "h-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def headline_signature(markdown: str) -> str:
    """Fallback signature: hash of the first non-empty line with numbers, hex ids and times blanked,
    so 'job 506813 at 08:33:46' and 'job 506999 at 09:01:02' give the same signature."""
    for line in markdown.splitlines():
        text = re.sub(r"[#*_`>\[\]]", "", line).strip().lower()
        if text and not text.startswith("<!--"):
            text = re.sub(r"\b[0-9a-f]{7,40}\b", "#", text)
            text = re.sub(r"\d+", "#", text)
            text = re.sub(r"\s+", " ", text)
            return "h-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return "h-empty"


def signature_from_rca_json(text: str) -> str | None:
    """The `signature` field of an rca.json (schema rca/v1), or None when absent/empty."""
    data = json.loads(text)
    value = data.get("signature") if isinstance(data, dict) else None
    return normalize_signature(value) if isinstance(value, str) and value.strip() else None


def choose_signature(markdown: str, *, explicit: str | None = None, rca_json: str | None = None) -> str:
    """Precedence: --signature, then rca.json's `signature`, then a marker already in the
    markdown, then the headline hash."""
    if explicit and explicit.strip():
        return normalize_signature(explicit)
    if rca_json is not None:
        found = signature_from_rca_json(rca_json)
        if found:
            return found
    match = MARKER_RE.search(markdown)
    if match:
        return match.group("sig")
    return headline_signature(markdown)


def signature_of(body: str) -> str | None:
    """The signature of a comment forensics posted (marker on its first line), else None.
    A marker quoted further down someone else's comment does not count."""
    match = MARKER_RE.match(body.lstrip())
    return match.group("sig") if match else None


def _strip_markers(markdown: str) -> str:
    return MARKER_RE.sub("", markdown).replace(SIGHTINGS_MARK, "").strip("\n")


def _truncate_markdown(markdown: str, budget: int) -> str:
    """Cut at a line boundary to at most ``budget`` chars (note included), closing an open fence."""
    if len(markdown) <= budget:
        return markdown
    room = max(0, budget - len(TRUNCATION_NOTE) - 8)
    cut = markdown[:room]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n")]
    fences = sum(1 for ln in cut.splitlines() if ln.lstrip().startswith(("```", "~~~")))
    if fences % 2:
        cut += "\n```"
    return cut + TRUNCATION_NOTE


def first_body(markdown: str, signature: str, footer: str, *, limit: int = COMMENT_LIMIT) -> str:
    """The comment posted the first time a signature is seen on an issue."""
    head = marker(signature) + "\n"
    tail = f"\n\n---\n{footer}\n{SIGHTINGS_MARK}\n"
    budget = limit - len(head) - len(tail) - min(RESERVE_FOR_SIGHTINGS, limit // 8)
    body = head + _truncate_markdown(_strip_markers(markdown), max(budget, 0)) + tail
    return body[:limit]


def add_sighting(body: str, sighting: Sighting, *, limit: int = COMMENT_LIMIT) -> str:
    """Append one sighting to an existing forensics comment, folding the oldest ones if needed."""
    if SIGHTINGS_MARK in body:
        prefix, _, rest = body.partition(SIGHTINGS_MARK)
    else:
        prefix, rest = body.rstrip("\n") + "\n", ""
    omitted, lines = 0, []
    for line in rest.splitlines():
        match = OMITTED_RE.match(line.strip())
        if match:
            omitted += int(match.group("n"))
        elif line.strip():
            lines.append(line.rstrip())
    lines.append(sighting.line())

    def assemble() -> str:
        fold = [f"- _({omitted} earlier sighting{'s' if omitted != 1 else ''} not listed)_"] if omitted else []
        return prefix + SIGHTINGS_MARK + "\n" + "\n".join(fold + lines) + "\n"

    text = assemble()
    while len(text) > limit and len(lines) > 1:
        lines.pop(0)
        omitted += 1
        text = assemble()
    if len(text) > limit:  # the prefix alone is too long (edited by hand): cut it, keep the marker
        keep = limit - (len(text) - len(prefix))
        prefix = _truncate_markdown(prefix, max(keep, 0))
        text = assemble()
    return text[:limit]


def sightings_count(body: str) -> int:
    """How many times a comment records its signature was seen again."""
    _, _, rest = body.partition(SIGHTINGS_MARK)
    total = 0
    for line in rest.splitlines():
        match = OMITTED_RE.match(line.strip())
        if match:
            total += int(match.group("n"))
        elif line.startswith("- seen again at "):
            total += 1
    return total


def resolved_body(run_id: str, run_url: str | None, when: str) -> str:
    """The comment posted on a green run, just before the issue is closed."""
    where = f"[run {run_id or 'unknown'}]({run_url})" if run_url else f"run {run_id or 'unknown'}"
    return (
        f"<!-- forensics:resolved run={run_id or 'unknown'} -->\n"
        f"✅ **Green again.** The staging gate passed at {when} ({where}). Closing this incident; "
        "forensics opens a new one if the gate fails again.\n"
    )


def footer_line(when: str, run_id: str, run_url: str | None, signature: str) -> str:
    where = f"[run {run_id or 'unknown'}]({run_url})" if run_url else f"run {run_id or 'unknown'}"
    return f"<sub>Posted by forensics at {when} for {where} · failure signature `{signature}` · reruns with the same signature edit this comment.</sub>"
