"""Render an Analysis as json | md | html. Pure: Analysis in, text out."""

from __future__ import annotations

import json

from forensics.model import Analysis

FORMATS: tuple[str, ...] = ("json", "md", "html")


def render(analysis: Analysis, fmt: str) -> str:
    if fmt == "json":
        return render_json(analysis)
    raise NotImplementedError(f"format {fmt!r} is not rendered yet")


def render_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2) + "\n"
