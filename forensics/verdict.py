"""Stage 5: timeline -> outcome, failed step, five hypotheses weighed, primary.

The reasoning mirrors the seed RCA:
- Outcome from the run's own words: a harness failure line (❌, pytest failures) -> failed;
  else a pass line -> passed unless a CI step/job failed; else CI ``::error::``/``##[error]``
  or a non-zero exit -> failed; else a decisive (strength-3) failure line of one of the
  five mechanisms (e.g. a platform log alone) -> failed; else (empty, binary, skipped,
  truncated, unrecognised) -> inconclusive.
- The failed step is the step of the first failure line (the harness step it appears in,
  else the step its words name); a teardown failure only counts when nothing failed earlier.
- Every hypothesis is weighed on lines *for* and *against* it (signature strength 1..3):
  ``for_max`` = strongest line for it, ``for_sum`` = sum over distinct lines (each
  signature counts at most twice). A hypothesis is *ruled out* when the lines against it
  are decisive (a strength-3 line, or together >= 3) and nothing decisive speaks for it.
  A line that announces its own retry (kind ``retrying``) is a transient: its strength
  is capped at supporting (2), so a retried-away error never decides a hypothesis alone.
  A restart trigger followed by a successful agent probe was ridden out: its lines are
  capped at supporting (it cannot be the primary of a later failure on its own).
  A workspace restart (kind ``reboot``) starts a new cold boot: when a supporting line
  follows it, the "booted and served" lines from before it stop counting against a crash.
- An infra-skip / PR-mode run exits 0: a green CI job alone is then not a pass.
- Primary: on a failed run, the best-scoring hypothesis that is not ruled out (strongest
  line, then evidence at the failed step, then the sum), pinned only
  when its case is decisive (a strength-3 line, or together >= 4). Otherwise "unknown":
  a failure outside the five is never forced into a class. Exactly one hypothesis is
  pinned iff the primary is one of the five; a passed run has primary None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forensics.model import HYPOTHESES, Analysis, Assessment, Event, Evidence, Outcome, Verdict
from forensics.signatures import Signature, StepInfo

HARNESS_FAIL = {"step-fail", "run-fail"}
CI_FAIL_ORDER = ("ci-error", "ci-step-fail", "job-fail", "exit-nonzero")
HARD_CI_FAIL = {"ci-step-fail", "job-fail"}
PASS_KINDS = {"run-pass", "job-pass"}
SKIP_KINDS = {"run-skip"}
# What a deploy workflow proves when it finishes cleanly: the fleet took the build and the
# tenants answer /buildinfo with the target SHA (a GitHub job log has no "Job succeeded" line).
DEPLOY_DONE_KINDS = {"deploy-fleet-ok", "deploy-ok", "deploy-buildinfo-ok"}
SERVED_ORDER = ("pong", "known-answer", "terminal", "image-roundtrip", "config-put")
DECISIVE = 3
PIN_SUM = 4
SUPPORT_MAX = 2
RULE_OUT_SUM = 3
PER_SIGNATURE_WEIGHT = 2
EVIDENCE_CAP = 8
RETRY_KIND = "retrying"                # a line announcing its own retry: never decisive alone
RECOVERY_KINDS = {"a2a-ok"}              # an agent probe answered
AGENT_STEPS = ("pong", "known-answer")
RECOVERY_RESETS = ("destructive-restart",)  # hypotheses a later agent success shows were survived
REBOOT_KIND = "reboot"                # a structural line: the workspace (re)starts its runtime
REBOOT_RESETS = ("cold-boot-crash",)  # hypotheses whose against-lines a later boot makes stale


@dataclass(slots=True)
class Weight:
    """Lines for and against one hypothesis, one entry per (source, line)."""

    for_lines: dict[tuple[str, int], tuple[int, Event]] = field(default_factory=dict)
    against_lines: dict[tuple[str, int], tuple[int, Event]] = field(default_factory=dict)

    @staticmethod
    def _max(lines: dict) -> int:
        return max((s for s, _ in lines.values()), default=0)

    @staticmethod
    def _sum(lines: dict) -> int:
        per_sig: dict[str, int] = {}
        total = 0
        for strength, event in sorted(lines.values(), key=lambda x: -x[0]):
            key = event.signature or ""
            per_sig[key] = per_sig.get(key, 0) + 1
            if per_sig[key] <= PER_SIGNATURE_WEIGHT:
                total += strength
        return total

    @property
    def for_max(self) -> int:
        return self._max(self.for_lines)

    @property
    def for_sum(self) -> int:
        return self._sum(self.for_lines)

    @property
    def against_max(self) -> int:
        return self._max(self.against_lines)

    @property
    def against_sum(self) -> int:
        return self._sum(self.against_lines)

    @property
    def ruled_out(self) -> bool:
        decisive_against = self.against_max >= DECISIVE or self.against_sum >= RULE_OUT_SUM
        return decisive_against and self.for_max < DECISIVE

    @property
    def score(self) -> tuple[int, int, int]:
        return (self.for_max, self.for_sum, -self.against_sum)


@dataclass(slots=True)
class RunFacts:
    """Run-level facts the verdict and the sentences need."""

    outcome: Outcome
    reason: str = ""
    failed_step: str | None = None
    first_failure: Event | None = None
    served: list[str] = field(default_factory=list)
    failure_meanings: list[str] = field(default_factory=list)  # generic shapes on the failure line


def weigh(events: Sequence[Event], by_id: dict[str, Signature]) -> dict[str, Weight]:
    weights = {h: Weight() for h in HYPOTHESES}
    retried = {(e.source, e.line) for e in events if e.kind == RETRY_KIND}
    for e in events:
        if not e.hypothesis or e.hypothesis not in weights:
            continue
        sig = by_id.get(e.signature or "")
        strength = sig.strength if sig else 1
        if (e.source, e.line) in retried:
            strength = min(strength, SUPPORT_MAX)   # "attempt 1 failed (…), retrying": a transient
        target = weights[e.hypothesis].for_lines if e.direction == "for" else weights[e.hypothesis].against_lines
        key = (e.source, e.line)
        if key not in target or target[key][0] < strength:
            target[key] = (strength, e)
    _forget_before_reboot(weights, [e for e in events if e.kind == REBOOT_KIND])
    _survived(weights, [e for e in events if e.kind in RECOVERY_KINDS or (e.kind == "step-pass" and e.step in AGENT_STEPS)])
    return weights


def _survived(weights: dict[str, Weight], successes: list[Event]) -> None:
    """A restart the workspace rode out — an agent probe succeeded after it — did not break the
    run: lines for the hypotheses in RECOVERY_RESETS that precede a later agent success are
    capped at supporting (the seed's restart came after the last PONG, never before it)."""
    if not successes:
        return
    for h in RECOVERY_RESETS:
        w = weights[h]
        w.for_lines = {
            k: ((min(s, SUPPORT_MAX), e) if any(_before(e, ok) for ok in successes) else (s, e))
            for k, (s, e) in w.for_lines.items()
        }


def _before(a: Event, b: Event) -> bool:
    """``a`` happened before ``b``: file order within a source, else both timestamps."""
    if a.source == b.source:
        return a.line < b.line
    return a.ts is not None and b.ts is not None and a.ts < b.ts


def _forget_before_reboot(weights: dict[str, Weight], reboots: list[Event]) -> None:
    """A workspace restart (config-PUT restart, auto-restart) starts a new cold boot: "it booted
    and served" lines from before it say nothing about a crash that follows it. So when a
    supporting (strength >= 2) line comes after a reboot, the against-lines from before that
    reboot are dropped for the hypotheses in REBOOT_RESETS."""
    for h in REBOOT_RESETS:
        w = weights[h]
        strong = [e for s, e in w.for_lines.values() if s >= SUPPORT_MAX]
        cuts = [r for r in reboots if any(_before(r, f) for f in strong)]
        if cuts:
            w.against_lines = {k: v for k, v in w.against_lines.items() if not any(_before(v[1], r) for r in cuts)}


def run_facts(events: Sequence[Event], total_lines: int, readable_sources: int, strengths: dict[str, int] | None = None) -> RunFacts:
    """Outcome, failed step, first failure line and what the agent served."""
    strengths = strengths or {}
    passed_steps = [e.step for e in events if e.kind == "step-pass" and e.step]
    served = [s for s in SERVED_ORDER if s in passed_steps]
    if total_lines == 0 or readable_sources == 0:
        return RunFacts(Outcome.INCONCLUSIVE, reason="the input is empty or binary: no log lines to read", served=served)
    harness_fails = [e for e in events if e.kind in HARNESS_FAIL]
    ci_fails = [e for e in events if e.kind in CI_FAIL_ORDER]
    hard_ci_fails = [e for e in ci_fails if e.kind in HARD_CI_FAIL]
    skipped = any(e.kind in SKIP_KINDS for e in events)
    # A green CI job only means the script exited 0: an infra-skip also exits 0, so it is a
    # pass only with the run's own pass line, or with no skip line at all.
    passed = any(e.kind == "run-pass" for e in events) or (
        not skipped and any(e.kind in PASS_KINDS for e in events))
    if harness_fails or (ci_fails and not (passed and not hard_ci_fails)):
        first = _first_failure(harness_fails, ci_fails)
        meanings = _generic_meanings(events, first)
        return RunFacts(Outcome.FAILED, failed_step=first.step if first else None, first_failure=first, served=served, failure_meanings=meanings)
    decisive = [e for e in events if e.hypothesis and e.direction == "for" and strengths.get(e.signature or "", 0) >= DECISIVE]
    deploy_only = _deploy_only_sources(events)
    if passed and decisive and not any(e.kind in PASS_KINDS | {"job-end"} and e.source not in deploy_only for e in events):
        # A green deploy job is the deploy's verdict, not the E2E run's: a decisive failure line
        # in another source (e.g. the platform log beside it) still says what happened to the run.
        elsewhere = [e for e in decisive if e.source not in deploy_only]
        if elsewhere:
            return RunFacts(Outcome.FAILED, failed_step=elsewhere[0].step, first_failure=elsewhere[0], served=served)
    if passed:
        return RunFacts(Outcome.PASSED, served=served)
    ended = any(e.kind == "job-end" or (e.kind == "step-start" and e.step == "teardown") for e in events)
    if ended and not skipped and ({"pong", "known-answer"} & set(served) or any(e.kind in DEPLOY_DONE_KINDS for e in events)):
        # No pass banner, but the agent answered (or the redeploy landed), nothing failed and
        # the job reached its end.
        return RunFacts(Outcome.PASSED, served=served)
    if decisive:  # e.g. a platform log alone: no run verdict, but a decisive failure line
        return RunFacts(Outcome.FAILED, failed_step=decisive[0].step, first_failure=decisive[0], served=served)
    if skipped:
        return RunFacts(Outcome.INCONCLUSIVE, reason="the run skipped itself (infra-skip or PR mode), so nothing was proven", served=served)
    if not events:
        return RunFacts(Outcome.INCONCLUSIVE, reason="no recognised CI, harness or platform lines in the input", served=served)
    return RunFacts(Outcome.INCONCLUSIVE, reason="the log has no pass or fail verdict (truncated or still running?)", served=served)


def _deploy_only_sources(events: Sequence[Event]) -> set[str]:
    """Sources that are deploy-workflow job logs: deploy lines and no harness lines."""
    harness = {e.source for e in events if e.kind in HARNESS_FAIL | {"step-start", "step-pass", "run-pass"}}
    return {e.source for e in events if e.kind.startswith("deploy-")} - harness


STRUCTURAL = HARNESS_FAIL | PASS_KINDS | SKIP_KINDS | set(CI_FAIL_ORDER) | {
    "step-start", "step-pass", "ci-step-start", "ci-step-pass", "job-end", "diagnostic", "status", "a2a-retry", REBOOT_KIND}


def _generic_meanings(events: Sequence[Event], first: Event | None) -> list[str]:
    if first is None:
        return []
    out: list[str] = []
    for e in events:
        if (e.source, e.line) == (first.source, first.line) and e.kind not in STRUCTURAL and not e.hypothesis and e.meaning:
            if e.meaning not in out:
                out.append(e.meaning)
    return out


def _first_failure(harness_fails: list[Event], ci_fails: list[Event]) -> Event | None:
    if harness_fails:
        non_teardown = [e for e in harness_fails if e.step != "teardown"]
        return (non_teardown or harness_fails)[0]
    for kind in CI_FAIL_ORDER:
        with_step = [e for e in ci_fails if e.kind == kind and e.step]
        if with_step:
            return with_step[0]
    for kind in CI_FAIL_ORDER:
        same = [e for e in ci_fails if e.kind == kind]
        if same:
            return same[0]
    return None


def choose_primary(facts: RunFacts, weights: dict[str, Weight]) -> str | None:
    if facts.outcome is Outcome.PASSED:
        return None
    if facts.outcome is Outcome.INCONCLUSIVE:
        return "unknown"
    candidates = [h for h in HYPOTHESES if weights[h].for_max >= SUPPORT_MAX and not weights[h].ruled_out]
    if not candidates:
        return "unknown"
    def rank(h: str) -> tuple[int, int, int, int]:
        w = weights[h]
        at_step = int(facts.failed_step is not None and any(e.step == facts.failed_step for _, e in w.for_lines.values()))
        return (w.for_max, at_step, w.for_sum, -w.against_sum)

    best = max(candidates, key=rank)  # ties: earlier in HYPOTHESES
    w = weights[best]
    if w.for_max >= DECISIVE or w.for_sum >= PIN_SUM:
        return best
    return "unknown"


def verdict_of(h: str, primary: str | None, facts: RunFacts, w: Weight) -> Verdict:
    if h == primary:
        return Verdict.PINNED
    if w.ruled_out:
        return Verdict.RULED_OUT
    if facts.outcome is not Outcome.PASSED and w.for_max >= SUPPORT_MAX:
        return Verdict.SUPPORTED
    return Verdict.NOT_EVIDENCED


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _strongest(lines: dict[tuple[str, int], tuple[int, Event]]) -> list[Event]:
    ranked = sorted(lines.values(), key=lambda x: -x[0])  # stable: timeline order within a strength
    return [e for _, e in ranked]


def _join_meanings(events: list[Event], limit: int = 4) -> str:
    seen: list[str] = []
    for e in events:
        m = (e.meaning or e.kind).split(" → ")[0]
        if m not in seen:
            seen.append(m)
        if len(seen) >= limit:
            break
    return " + ".join(seen)


def served_phrase(facts: RunFacts, steps: dict[str, StepInfo]) -> str:
    return " + ".join(steps[s].served if s in steps else s for s in facts.served)


def why_sentence(h: str, verdict: Verdict, w: Weight, facts: RunFacts, levers: dict, steps: dict[str, StepInfo]) -> str:
    templates = levers.get("hypothesis", {}).get(h, {}).get("why", {})
    key = verdict.value
    served = served_phrase(facts, steps)
    if h == "cpu-exhaustion" and verdict is Verdict.NOT_EVIDENCED and not served:
        key = "not-evidenced-unserved"
    if verdict is Verdict.RULED_OUT and facts.outcome is Outcome.PASSED and f"{key}-passed" in templates:
        key = f"{key}-passed"
    elif verdict in (Verdict.RULED_OUT, Verdict.SUPPORTED) and not served and f"{key}-unserved" in templates:
        key = f"{key}-unserved"
    values = _Blank(
        top=_join_meanings(_strongest(w.for_lines), limit=1),
        top_text=(_strongest(w.for_lines)[0].text[:160] if w.for_lines else ""),
        against=_join_meanings(_strongest(w.against_lines)),
        served=served or "nothing",
        failed_step=facts.failed_step or "an unrecognised step",
        for_n=str(len(w.for_lines)),
        against_n=str(len(w.against_lines)),
    )
    template = templates.get(key) or templates.get(verdict.value) or f"{verdict.value.upper()}."
    sentence = template.format_map(values)
    if verdict is Verdict.NOT_EVIDENCED and w.against_lines and "{against}" not in template:
        sentence = sentence.rstrip(".") + f"; against it: {values['against']}."
    if verdict is Verdict.NOT_EVIDENCED and w.for_lines and key != "not-evidenced-unserved" and h != "cpu-exhaustion":
        sentence = sentence.rstrip(".") + f" (only weak hints: {values['top']})."
    return sentence


def _diverse(events: list[Event], cap: int) -> list[Event]:
    """The strongest lines, at most PER_SIGNATURE_WEIGHT per signature, ``cap`` in all."""
    per_sig: dict[str, int] = {}
    out: list[Event] = []
    for e in events:
        key = e.signature or ""
        per_sig[key] = per_sig.get(key, 0) + 1
        if per_sig[key] <= PER_SIGNATURE_WEIGHT:
            out.append(e)
        if len(out) >= cap:
            break
    return out


def evidence_for(w: Weight) -> list[Evidence]:
    chosen = _diverse(_strongest(w.for_lines), EVIDENCE_CAP) + _diverse(_strongest(w.against_lines), EVIDENCE_CAP)
    chosen.sort(key=lambda e: (e.ts is None, e.ts or datetime.min))
    return [
        Evidence(source=e.source, line=e.line, text=e.text, ts=e.ts, meaning=e.meaning, direction=e.direction)
        for e in chosen
    ]


def decide(
    events: Sequence[Event],
    by_id: dict[str, Signature],
    *,
    total_lines: int,
    readable_sources: int,
    levers: dict,
    steps: dict[str, StepInfo],
) -> tuple[RunFacts, str | None, dict[str, Assessment], dict[str, Any]]:
    """Weigh everything; returns facts, primary, assessments and report sentences."""
    facts = run_facts(events, total_lines, readable_sources, {k: s.strength for k, s in by_id.items()})
    weights = weigh(events, by_id)
    primary = choose_primary(facts, weights)
    hyp_data = levers.get("hypothesis", {})
    assessments: dict[str, Assessment] = {}
    for h in HYPOTHESES:
        v = verdict_of(h, primary, facts, weights[h])
        assessments[h] = Assessment(
            id=h,
            verdict=v,
            why=why_sentence(h, v, weights[h], facts, levers, steps),
            evidence=evidence_for(weights[h]),
            title=hyp_data.get(h, {}).get("title", h),
            lever=hyp_data.get(h, {}).get("lever"),
        )
    sentences = report_sentences(facts, primary, assessments, weights, levers, steps)
    return facts, primary, assessments, sentences


def report_sentences(facts: RunFacts, primary: str | None, assessments: dict[str, Assessment], weights: dict[str, Weight], levers: dict, steps: dict[str, StepInfo]) -> dict[str, Any]:
    run = levers.get("run", {})
    hyp_data = levers.get("hypothesis", {})
    ruled = [h for h in HYPOTHESES if assessments[h].verdict is Verdict.RULED_OUT]
    unevidenced = [h for h in HYPOTHESES if assessments[h].verdict is Verdict.NOT_EVIDENCED]
    supported = [h for h in HYPOTHESES if assessments[h].verdict is Verdict.SUPPORTED]
    parts = []
    if ruled:
        parts.append(f"{', '.join(ruled)} ruled out")
    if supported:
        parts.append(f"{', '.join(supported)} supported")
    if unevidenced and facts.outcome is not Outcome.PASSED:
        parts.append(f"{', '.join(unevidenced)} not evidenced")
    exonerated = ("; " + "; ".join(parts)) if parts else ""
    first = facts.first_failure.text if facts.first_failure else ""
    values = _Blank(
        primary=primary or "",
        title=hyp_data.get(primary or "", {}).get("title", ""),
        failed_step=facts.failed_step or "an unrecognised step",
        exonerated=exonerated,
        first_failure=first[:200].rstrip(" ."),
        failure_shape=("; " + "; ".join(facts.failure_meanings)) if facts.failure_meanings else "",
        at_step=f" at step {facts.failed_step}" if facts.failed_step else "",
        reason=facts.reason,
        served=served_phrase(facts, steps) or "not shown in these logs",
        failed_probe=f"the {facts.failed_step} probe" if facts.failed_step else "a later A2A call",
    )
    if facts.outcome is Outcome.PASSED:
        return {"headline": run.get("headline-passed", "Run PASSED.").format_map(values), "mechanism": "", "lever": None, "refs": [], "signature": "passed"}
    if facts.outcome is Outcome.INCONCLUSIVE:
        return {
            "headline": run.get("headline-inconclusive", "INCONCLUSIVE: {reason}.").format_map(values),
            "mechanism": "",
            "lever": None,
            "refs": [],
            "signature": "inconclusive",
        }
    step_key = facts.failed_step or "unknown-step"
    if primary and primary != "unknown":
        w = weights[primary]
        values["top"] = _join_meanings(_strongest(w.for_lines), limit=1)
        values["tops"] = _join_meanings(_strongest(w.for_lines), limit=3)
        data = hyp_data.get(primary, {})
        return {
            "headline": run.get("headline-pinned", "Root cause PINNED to {primary}.").format_map(values),
            "mechanism": data.get("mechanism", "").format_map(values),
            "lever": data.get("lever"),
            "refs": list(data.get("refs", [])),
            "signature": f"{primary}@{step_key}",
        }
    return {
        "headline": run.get("headline-unknown", "Run FAILED at {failed_step}.").format_map(values),
        "mechanism": run.get("mechanism-unknown", "").format_map(values),
        "lever": run.get("lever-unknown"),
        "refs": [],
        "signature": f"unknown@{step_key}",
    }


def build_analysis(
    facts: RunFacts,
    primary: str | None,
    assessments: dict[str, Assessment],
    sentences: dict[str, Any],
    timeline: list[Event],
    sources: list[str],
    context: dict[str, Any],
    notes: list[str],
) -> Analysis:
    return Analysis(
        outcome=facts.outcome,
        primary=primary,
        failed_step=facts.failed_step if facts.outcome is Outcome.FAILED else None,
        hypotheses=assessments,
        timeline=timeline,
        sources=sources,
        headline=sentences["headline"],
        mechanism=sentences["mechanism"],
        lever=sentences["lever"],
        signature=sentences["signature"],
        refs=sentences["refs"],
        context=context,
        notes=notes,
    )
