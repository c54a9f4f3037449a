"""Hand-built Analysis objects for the renderer tests (and docs/report-example.md).

`seed_analysis()` mirrors the seed's job 506813 RCA: destructive-restart pinned, cold-boot-crash and
llm-401 ruled out, cpu-exhaustion and deploy-lag not evidenced, failed step known-answer.
docs/report-example.md is regenerated (from the engine's analysis of the seed fixture) with:
    .venv/bin/python tests/forensics/render_samples.py
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from forensics.model import Analysis, Assessment, Event, Evidence, Outcome, Verdict

RUNNER = "runner.log"
PLATFORM = "platform.log"


def _ts(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-06-15T{hms}")


# (time, source, line, kind, text, hypothesis, direction, step, meaning)
_SEED_EVENTS: list[tuple[str | None, str, int, str, str, str | None, str | None, str | None, str | None]] = [
    ("08:30:44", RUNNER, 14, "step", "[08:30:44] 0/11 Preflight: CP reachable?", None, None, "preflight", None),
    ("08:30:45", RUNNER, 15, "ok", "[08:30:45] ✅ CP reachable", None, None, "preflight", None),
    ("08:30:51", RUNNER, 31, "llm-path", "[08:30:51]     LLM path: PLATFORM-MANAGED (no tenant key; proxy + Fix A provider stamp)",
     "llm-401", "against", "provision", "platform-managed LLM path, no tenant key to be rejected: not LLM-401"),
    ("08:30:51", RUNNER, 32, "llm-model", "[08:30:51]     MODEL_SLUG=moonshot/kimi-k2.6", None, None, "provision", None),
    ("08:31:02", RUNNER, 36, "step", "[08:31:02] 5/11 Provisioning parent workspace (runtime=claude-code)...", None, None, "provision", None),
    ("08:33:27", RUNNER, 52, "url-ready", "[08:33:27]     5b1f0c9e url ready: http://ip-10-10-1-154:8000",
     "cold-boot-crash", "against", "routing", "workspace online with a routable URL: provisioning and cold boot OK"),
    ("08:33:27", RUNNER, 53, "ok", "[08:33:27] ✅     5b1f0c9e online and routable", "cold-boot-crash", "against", "routing", None),
    ("08:33:29", RUNNER, 56, "image-ok", "[08:33:29] ✅     5b1f0c9e image upload/download OK (image/png, sha256=9f2c…)",
     "cold-boot-crash", "against", "image-roundtrip", "image round trip served: the agent container is up"),
    ("08:33:33", RUNNER, 59, "terminal-ok", "[08:33:33] ✅     5b1f0c9e terminal-reachable (canvas terminal will work)",
     "cold-boot-crash", "against", "terminal", "canvas terminal reachable"),
    ("08:33:37", RUNNER, 62, "config-put-ok", "[08:33:37] ✅     5b1f0c9e config.yaml PUT OK (HTTP 200)",
     "cold-boot-crash", "against", "config-put", "config.yaml PUT 200: agent fully functional post-boot"),
    ("08:33:38", RUNNER, 66, "ok", "[08:33:38] ✅     5b1f0c9e online and routable", None, None, "config-put", None),
    ("08:33:46", RUNNER, 71, "pong", "[08:33:46] ✅ A2A parent round-trip succeeded: PONG",
     "cold-boot-crash", "against", "pong", "transport and liveness alive 0.7 s before the failure"),
    ("08:33:46", PLATFORM, 4410, "restart-triggered",
     "2026/06/15 08:33:46 ProxyA2A: workspace 5b1f0c9e forward error; IsRunning=false — is dead — marking offline and triggering restart",
     "destructive-restart", "for", "known-answer", "the platform marked a PONG-healthy container dead on one probe"),
    (None, RUNNER, 74, "a2a-agent-origin",
     '    known-answer A2A agent-origin 503 attempt 1/12: {"error":"workspace agent unreachable — container restart triggered","restarting":true}',
     "destructive-restart", "for", "known-answer", "the agent's own proxy answered 503 and self-triggered a restart on the known-answer probe"),
    ("08:34:16", RUNNER, 75, "a2a-offline", '    known-answer A2A non-retryable 503: {"error":"workspace has no URL","status":"offline"}',
     "destructive-restart", "for", "known-answer", "the restart never re-registered the URL: workspace offline"),
    ("08:34:16", RUNNER, 76, "fail", "[08:34:16] ❌ known-answer probe failed (HTTP 503) — workspace offline",
     None, None, "known-answer", None),
    ("08:34:40", RUNNER, 90, "step", "[08:34:40] Tearing down org e2e-20260615-0830-a1b2...", None, None, "teardown", None),
]


def _events(rows=_SEED_EVENTS) -> list[Event]:
    return [
        Event(source=src, line=line, ts=_ts(t) if t else None, kind=kind, text=text,
              signature=kind if hyp else None, hypothesis=hyp, direction=d, step=step, meaning=meaning)
        for t, src, line, kind, text, hyp, d, step, meaning in rows
    ]


def _evidence(events: list[Event], hypothesis: str) -> list[Evidence]:
    return [
        Evidence(source=e.source, line=e.line, text=e.text, ts=e.ts, meaning=e.meaning, direction=e.direction)
        for e in events if e.hypothesis == hypothesis
    ]


SEED_LEVER = (
    "decouple proxy degradation from the container lifecycle: the workspace-server must NOT self-trigger a "
    "container restart on a transient agent-origin A2A 503 while transport liveness (PONG) is green; require "
    "N consecutive failures AND a failed liveness probe (debounce `IsRunning=false`, recent-heartbeat guard), "
    "and finish the post-restart URL re-registration before marking `offline`. Owner: re-open #2917 / the "
    "runtime A2A-executor owner."
)


def seed_analysis() -> Analysis:
    events = _events()
    hyps = {
        "llm-401": Assessment(
            "llm-401", Verdict.RULED_OUT,
            "LLM path is PLATFORM-MANAGED (no tenant key required), so there is no tenant key to be rejected with a 401.",
            _evidence(events, "llm-401"), title="LLM provider rejects the key (401)"),
        "cold-boot-crash": Assessment(
            "cold-boot-crash", Verdict.RULED_OUT,
            "PONG + terminal + image round trip + config PUT all succeeded; the agent booted and served, "
            "so the failure is post-boot on the agent-execution path, not cold boot.",
            _evidence(events, "cold-boot-crash"), title="runtime cold-boot / image / entrypoint crash"),
        "cpu-exhaustion": Assessment(
            "cpu-exhaustion", Verdict.NOT_EVIDENCED,
            "The container started and served the heaviest paths (PONG/terminal/image) and there are no OOM/CPU "
            "lines; cannot be fully excluded from the runner log alone — check the #2885 orphan sweeper on the docker host.",
            [], title="orphan-CPU exhaustion on the staging docker host"),
        "destructive-restart": Assessment(
            "destructive-restart", Verdict.PINNED,
            "A single agent-origin A2A 503 on the known-answer probe self-triggered a container restart 0.7 s after "
            "a green PONG, and the URL never came back (`workspace has no URL`, `offline`).",
            _evidence(events, "destructive-restart"), title="destructive auto-restart on a transient A2A 503 (#2917 class)",
            lever=SEED_LEVER),
        "deploy-lag": Assessment(
            "deploy-lag", Verdict.NOT_EVIDENCED,
            "No deploy-workflow log was given and no buildinfo line names the deployed SHA.",
            [], title="fix merged but not deployed to staging"),
    }
    return Analysis(
        outcome=Outcome.FAILED, primary="destructive-restart", failed_step="known-answer", hypotheses=hyps,
        timeline=events, sources=[RUNNER, PLATFORM],
        headline=("Root cause PINNED to destructive-restart (destructive auto-restart on a transient A2A 503, "
                  "#2917 class) at step known-answer; cold-boot-crash and llm-401 exonerated; cpu-exhaustion and "
                  "deploy-lag not evidenced here."),
        mechanism=(
            "The provisioned workspace agent boots and serves traffic (online, image round trip, terminal, "
            "config PUT, PONG), then a single agent-origin A2A 503 on the known-answer probe self-triggers a "
            "container restart that never re-establishes the workspace URL → the workspace goes `offline` → "
            "E2E exit 1. The proximate killer is the destructive auto-restart on a transient A2A 503: it nukes a "
            "PONG-healthy container (`maybeMarkContainerDead` in `a2a_proxy_helpers.go`)."
        ),
        lever=SEED_LEVER,
        signature="destructive-restart/known-answer/a2a-agent-origin-503",
        refs=["#2917 (closed; same signature)", "#2931 (fix: debounce + recent-heartbeat guard)"],
        context={"job": "506813", "run": "369624", "workflow": "E2E Staging Platform Boot"},
        notes=["Recurrence: seen in 3 of the last 10 runs of this job (first 2026-06-14 22:10, last 2026-06-15 08:34); "
               "every occurrence at step known-answer with the same signature."],
    )


def passed_analysis() -> Analysis:
    rows = [r for r in _SEED_EVENTS if r[7] not in ("known-answer",)]
    rows.append(("08:33:52", RUNNER, 73, "ok", "[08:33:52] ✅ known-answer: PINEAPPLE", None, None, "known-answer", None))
    events = sorted(_events(rows), key=lambda e: e.line)
    hyps = {
        h: Assessment(h, Verdict.NOT_EVIDENCED, "The run passed; nothing points to this cause.", _evidence(events, h))
        for h in ("llm-401", "cold-boot-crash", "cpu-exhaustion", "destructive-restart", "deploy-lag")
    }
    return Analysis(outcome=Outcome.PASSED, primary=None, failed_step=None, hypotheses=hyps, timeline=events,
                    sources=[RUNNER], headline="Platform Boot passed.")


def unknown_analysis(with_timestamps: bool = False) -> Analysis:
    """A run that failed at `terminal` for a reason outside the five; no timestamps at all."""
    lines = [
        (RUNNER, 3, "step", "7a/11 Real image upload/download round-trip...", "image-roundtrip"),
        (RUNNER, 4, "ok", "✅     5b1f0c9e image upload/download OK (image/png, sha256=ab12)", "image-roundtrip"),
        (RUNNER, 5, "step", "7b/11 Canvas-terminal EIC diagnose probe...", "terminal"),
        (RUNNER, 9, "fail", "❌ Workspace 5b1f0c9e terminal diagnose failed at step 'ssh': dial tcp 10.0.0.7:22: i/o timeout", "terminal"),
    ]
    events = [
        Event(source=s, line=n, ts=_ts(f"09:00:0{i}") if with_timestamps else None, kind=k, text=t, step=st)
        for i, (s, n, k, t, st) in enumerate(lines)
    ]
    hyps = {
        "llm-401": Assessment("llm-401", Verdict.NOT_EVIDENCED, "The run never reached an LLM call."),
        "cold-boot-crash": Assessment(
            "cold-boot-crash", Verdict.RULED_OUT, "The image round trip succeeded, so the container was up.",
            [Evidence(RUNNER, 4, lines[1][3], None, "image served", "against")]),
        "cpu-exhaustion": Assessment("cpu-exhaustion", Verdict.NOT_EVIDENCED, "No OOM or CPU lines."),
        "destructive-restart": Assessment("destructive-restart", Verdict.NOT_EVIDENCED, "No restart was triggered."),
        "deploy-lag": Assessment("deploy-lag", Verdict.NOT_EVIDENCED, "No deploy log was given."),
    }
    return Analysis(outcome=Outcome.FAILED, primary="unknown", failed_step="terminal", hypotheses=hyps,
                    timeline=events, sources=[RUNNER])


SEED_FIXTURE = "fixtures/logs/seed-506813/runner.log"


def main() -> int:
    """Write docs/report-example.md: the engine's analysis of the seed fixture, rendered as markdown
    (falls back to the hand-built seed analysis when the engine cannot run)."""
    import os

    from forensics.output import write_atomic
    from forensics.render import render

    root = Path(__file__).resolve().parents[2]
    os.chdir(root)  # sources are cited as given: keep the path relative to the repository
    try:
        from forensics import analyze as engine

        run = getattr(engine, "analyze_paths", None) or engine.analyze
        analysis, origin = run([SEED_FIXTURE]), f"`forensics analyze {SEED_FIXTURE} --format md`"
    except Exception as exc:  # noqa: BLE001 - the example must still be writable while the engine is in flux
        print(f"engine unavailable ({type(exc).__name__}: {exc}); using the hand-built analysis", file=sys.stderr)
        analysis, origin = seed_analysis(), "the hand-built seed analysis in `tests/forensics/render_samples.py`"
    body = render(analysis, "md")
    doc = (
        "# Example: the markdown RCA comment\n\n"
        f"Output of {origin}: the runner log of the seed incident (E2E Staging Platform Boot job 506813)\n"
        "rebuilt as a fixture. Regenerate with `.venv/bin/python tests/forensics/render_samples.py`.\n"
        "This is exactly the text that gets posted as the issue comment; below the rule it is shown as it renders.\n\n"
        "<details><summary>Raw markdown</summary>\n\n"
        "````````markdown\n" + body + "````````\n\n</details>\n\n---\n\n" + body
    )
    write_atomic(root / "docs" / "report-example.md", doc)
    print(f"wrote {root / 'docs' / 'report-example.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
