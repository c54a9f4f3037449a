"""Render the RCA of a failed run with forensics (reports/rca.md, rca.html, rca.json).

Invariants:
- A forensics failure (missing module, exception) never hides the suite's own result: it is
  returned as a one-line note and the run keeps its exit status.
- Rendered text is redacted once more with the run's literal secrets; files are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from forensics.output import write_atomic
from forensics.redact import Redactor

FORMATS = {"json": "rca.json", "md": "rca.md", "html": "rca.html"}


def render_rca(paths: list[Path], reports_dir: Path, redactor: Redactor,
               secrets: list[str] = ()) -> tuple[list[Path], str | None]:  # type: ignore[assignment]
    """Analyse `paths` and write the three renderings. Returns (written files, error note or None)."""
    try:
        from forensics import analyze as analyze_mod
        from forensics.render import render
    except Exception as exc:  # noqa: BLE001 - any import failure must not hide the run's result
        return [], f"forensics unavailable ({type(exc).__name__}: {exc})"
    inputs = [str(p) for p in paths if p.exists()]
    try:
        if hasattr(analyze_mod, "analyze_paths"):
            analysis = analyze_mod.analyze_paths(inputs)
        else:
            analysis = analyze_mod.analyze(inputs, secrets=list(secrets))
    except Exception as exc:  # noqa: BLE001
        return [], f"forensics analysis failed ({type(exc).__name__}: {exc})"
    try:
        # Known issues ("#2917-class, recurring after its fix was merged"), deployed build vs fix,
        # and — when FORENSICS_HISTORY_DB names a database — "seen in N of the last 10 runs".
        from forensics import recurrence

        analysis = recurrence.enrich(analysis, history_db=os.environ.get("FORENSICS_HISTORY_DB") or None)
    except Exception as exc:  # noqa: BLE001 - the verdict above stands without the recurrence notes
        note = f"recurrence stage failed ({type(exc).__name__}: {exc})"
    else:
        note = None
    written: list[Path] = []
    errors: list[str] = []
    for fmt, name in FORMATS.items():
        try:
            text = render(analysis, fmt)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{fmt}: {type(exc).__name__}: {exc}")
            continue
        path = reports_dir / name
        write_atomic(path, redactor.redact(text))
        written.append(path)
    if note:
        errors.append(note)
    return written, ("; ".join(errors) or None)
