"""The A2A probes: send-and-poll (platform-api.md §12.4) and the agent-text checks (§12.5).

Invariants:
- `send_and_poll` follows the [J] helper: at most 12 POSTs; a 2xx `queued` answer is followed
  through the queue status endpoint (at most 30 polls); 502/503/504 with a gateway body or an
  agent-origin body are retried (sleeps scaled by `Pace`); anything else stops at once.
- The only calls made are the POST and the queue GET: never a restart.
- `check_pong` / `check_known_answer` are pure: reply text in, `TextVerdict` out, with the
  harness's exact ❌/✅ wording from data/agent_checks.toml.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from e2e.client import Reply, Tenant
from e2e.options import Pace
from e2e.runlog import RunLog

PONG_PROMPT = ("This is the platform smoke test verifying agent wiring. No tools or memory are needed — "
               "please respond with exactly the single token: PONG")
KNOWN_ANSWER_PROMPT = "Reply with exactly the word PINEAPPLE and nothing else."
QUEUE_WAITING = {"queued", "dispatched", "in_progress", ""}


@cache
def checks() -> dict[str, Any]:
    with open(Path(__file__).with_name("data") / "agent_checks.toml", "rb") as fh:
        return tomllib.load(fh)


def message_body(rpc_id: str, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "message/send", "id": rpc_id,
            "params": {"message": {"role": "user", "messageId": f"e2e-{secrets.token_hex(4)}",
                                   "parts": [{"kind": "text", "text": text}]}}}


@dataclass(frozen=True, slots=True)
class A2AOutcome:
    """ok → `payload` is the JSON-RPC reply; else `failure` is the ❌ line (infra=True: not a product defect)."""

    ok: bool
    payload: Any = None
    failure: str = ""
    infra: bool = False
    attempts: int = 0


def _is_queued(data: Any) -> bool:
    return isinstance(data, dict) and bool(data.get("queue_id")) and (
        data.get("queued") is True or data.get("status") == "queued")


def send_and_poll(tenant: Tenant, wid: str, body: dict[str, Any], label: str, pace: Pace,
                  timeout: float, log: RunLog, sleep: Any) -> A2AOutcome:
    retry = checks()["retry"]
    gateway = re.compile(retry["gateway"], re.IGNORECASE)
    agent_origin = re.compile(retry["agent_origin"], re.IGNORECASE)
    max_attempts = int(retry["max_attempts"])
    reply = Reply(status=0)
    for attempt in range(1, max_attempts + 1):
        reply = tenant.a2a(wid, body, timeout=timeout)
        if reply.ok:
            data = reply.json()
            if _is_queued(data):
                return _follow_queue(tenant, wid, str(data["queue_id"]), label, pace, log, sleep, attempt)
            if data is None:
                return A2AOutcome(False, failure=f"{label} returned non-JSON 2xx: {reply.text[:300]}",
                                  attempts=attempt)
            return A2AOutcome(True, payload=data, attempts=attempt)
        if reply.status == 0 and reply.rc == 28:
            break  # a timeout is evidence (host starved / agent hung), not noise: fail now
        text = reply.text
        if reply.status == 0 or (reply.status in (502, 503, 504) and gateway.search(text)):
            log.detail(f"{label} A2A transient gateway {reply.status or '000'} attempt {attempt}/{max_attempts}: "
                       f"{text[:300] or reply.error}")
            sleep(pace.gateway_sleep)
            continue
        if reply.status in (502, 503, 504) and agent_origin.search(text):
            log.detail(f"{label} A2A agent-origin {reply.status} attempt {attempt}/{max_attempts}: {text[:300]}")
            sleep(pace.agent_origin_sleep)
            continue
        break
    http = f"{reply.status:03d}" if reply.status else "000"
    body_text = reply.text[:300] or reply.error
    return A2AOutcome(False, failure=f"{label} failed after {attempt} attempt(s) (curl_rc={reply.rc}, "
                                     f"http={http}): {body_text}", attempts=attempt, infra=reply.status == 0)


def _follow_queue(tenant: Tenant, wid: str, qid: str, label: str, pace: Pace, log: RunLog,
                  sleep: Any, attempts: int) -> A2AOutcome:
    polls = int(checks()["retry"]["queue_polls"])
    log.detail(f"{label} A2A queued (queue_id={qid}); switching to poll")
    status = ""
    for n in range(1, polls + 1):
        reply = tenant.queue_status(wid, qid)
        if reply.status in (0, 404):
            log.detail(f"{label} queue poll attempt {n}/{polls}: curl_rc={reply.rc} http={reply.status or '000'} "
                       f"— retryable, backing off {pace.queue_poll_sleep:g}s")
            sleep(pace.queue_poll_sleep)
            continue
        if not reply.ok:
            return A2AOutcome(False, failure=f"{label} queue poll failed (http={reply.status}): {reply.text[:300]}",
                              attempts=attempts)
        data = reply.json() or {}
        status = str(data.get("status") or "")
        if status == "completed":
            return A2AOutcome(True, payload=_as_json(data.get("response_body")), attempts=attempts)
        if status in ("failed", "dropped"):
            return A2AOutcome(False, failure=f"{label} queue item {qid} terminal status={status}: {reply.text[:300]}",
                              attempts=attempts)
        if status not in QUEUE_WAITING:
            return A2AOutcome(False, failure=f"{label} queue poll unexpected status={status}: {reply.text[:300]}",
                              attempts=attempts)
        log.detail(f"{label} queue poll attempt {n}/{polls} status={status or '<empty>'} — backing off "
                   f"{pace.queue_poll_sleep:g}s")
        sleep(pace.queue_poll_sleep)
    return A2AOutcome(False, failure=f"{label} queue poll timed out waiting for {qid} to complete", attempts=attempts)


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return {"result": {"parts": [{"kind": "text", "text": value}]}}
    return value


def extract_text(payload: Any) -> str:
    """Text parts under result.parts, result.status.message.parts, result.message.parts, result.artifacts[].parts."""
    if not isinstance(payload, dict):
        return ""
    result = payload.get("result")
    if not isinstance(result, dict):
        return ""
    groups: list[Any] = [result.get("parts")]
    for key in ("status", "message"):
        node = result.get(key)
        if key == "status" and isinstance(node, dict):
            node = node.get("message")
        if isinstance(node, dict):
            groups.append(node.get("parts"))
    for artifact in result.get("artifacts") or []:
        if isinstance(artifact, dict):
            groups.append(artifact.get("parts"))
    texts = [str(part.get("text", "")) for group in groups if isinstance(group, list) for part in group
             if isinstance(part, dict) and (part.get("kind") == "text" or part.get("type") == "text")]
    return "\n".join(t for t in texts if t)


@dataclass(frozen=True, slots=True)
class TextVerdict:
    ok: bool
    line: str                 # the ✅ or ❌ message (without the marker)
    burst: str | None = None  # a diagnostic burst header to print first


def _specific(text: str, model: str) -> TextVerdict | None:
    for check in checks()["specific"]:
        hit = (check["contains"] in text) if "contains" in check else bool(re.search(check["regex"], text))
        if hit:
            return TextVerdict(False, check["message"].format(text=text[:300], model=model), check.get("burst"))
    return None


def check_pong(payload: Any, model: str) -> TextVerdict:
    data = checks()
    text = extract_text(payload)
    if not text.strip():
        import json

        return TextVerdict(False, data["pong"]["empty"].format(body=json.dumps(payload)[:300]))
    specific = _specific(text, model)
    if specific:
        return specific
    if re.search(data["generic"]["regex"], text):
        return TextVerdict(False, data["generic"]["message"].format(text=text[:300]))
    if data["pong"]["token"] not in text.upper():
        return TextVerdict(False, data["pong"]["missing"].format(text=text[:300]))
    return TextVerdict(True, data["pong"]["passed"].format(reply=text[:80]))


def check_known_answer(payload: Any, runtime: str, model: str) -> TextVerdict:
    ka = checks()["known_answer"]
    label = ka["label"].format(runtime=runtime, model=model)
    text = extract_text(payload)
    if not text.strip():
        return TextVerdict(False, ka["empty"].format(label=label))
    specific = _specific(text, model)
    if specific:
        return specific
    for marker in ka["markers"]:
        if marker.lower() in text.lower():
            return TextVerdict(False, ka["marker"].format(label=label, marker=marker, text=text[:300]))
    if ka["token"] not in text:
        return TextVerdict(False, ka["missing"].format(label=label, text=text[:300]))
    return TextVerdict(True, ka["passed"].format(label=label, reply=text[:80]))
