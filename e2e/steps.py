"""The Platform Boot steps for one runtime, in order (the runbook as code).

Invariants:
- `Boot` holds one runtime's state; each step method either returns (✅ logged) or raises
  `StepFailed` after logging exactly one ❌ line with the harness's wording.
- Steps only read, create, upload, PUT config.yaml and send A2A messages; the only deletes are in
  `teardown`, and only of what this run created (recorded in the ledger first).
- Step-start lines use the [J] harness's numbering and words (forensics maps them to steps).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlparse

from e2e import ledger
from e2e.a2a import (KNOWN_ANSWER_PROMPT, PONG_PROMPT, check_known_answer, check_pong, message_body,
                     send_and_poll)
from e2e.client import ControlPlane, Reply, Tenant
from e2e.options import Settings, make_slug, tenant_url_for
from e2e.runlog import BROOM, RunLog
from e2e.streams import EventFeed, terminal_probe
from e2e.waits import Pending, Stop, Waiter, WaitTimeout, classify_http

STEP_ORDER: tuple[str, ...] = ("preflight", "provision", "routing", "image-roundtrip", "terminal",
                               "config-put", "pong", "known-answer")
RULE = "═" * 67


class StepFailed(Exception):
    """A step failed; the ❌ line is already in the run log. `infra` marks non-product causes."""

    def __init__(self, message: str, infra: bool = False) -> None:
        super().__init__(message)
        self.infra = infra


def make_png(width: int = 8, height: int = 8, seed: bytes | None = None) -> bytes:
    """A real RGB PNG (zlib-compressed IDAT) whose pixels come from `seed` (so each run's SHA differs)."""
    seed = seed or secrets.token_bytes(16)
    stream = hashlib.shake_256(seed).digest(width * height * 3)
    raw = b"".join(b"\x00" + stream[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def config_yaml(run_id: str, runtime: str) -> str:
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"# molecule-synth-e2e: {run_id} {runtime} {stamp}\nname: synth-canary\nruntime: {runtime}\n"


@dataclass
class Boot:
    settings: Settings
    runtime: str
    log: RunLog
    slug: str | None = None
    org_id: str | None = None
    tenant_url: str | None = None
    tenant_token: str | None = None
    workspace_id: str | None = None
    workspace_url: str | None = None
    created_org: bool = False
    created_workspace: bool = False
    failed_step: str | None = None
    target_error: str | None = None
    done: set[str] = field(default_factory=set)
    cp: ControlPlane | None = None
    tenant: Tenant | None = None
    feed: EventFeed | None = None
    _status_seen: str | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def target(self):  # noqa: ANN201 - Target
        return self.settings.target

    @property
    def budgets(self):  # noqa: ANN201
        return self.settings.budgets

    @property
    def pace(self):  # noqa: ANN201
        return self.settings.pace

    def fail(self, message: str, infra: bool = False) -> StepFailed:
        self.log.fail(message)
        return StepFailed(message, infra)

    def waiter(self) -> Waiter:
        return Waiter(self.pace, self.log, self.feed.sleep if self.feed else time.sleep)

    def _cp(self) -> ControlPlane:
        if self.cp is None:
            assert self.target.cp_url and self.target.admin_token
            self.cp = ControlPlane(self.target.cp_url, self.target.admin_token, self.log, self.budgets.http_request)
        return self.cp

    def _tenant(self) -> Tenant:
        if self.tenant is None:
            if self.target.kind == "existing":
                self.tenant_url, self.org_id = self.target.tenant_url, self.target.org_id
                self.tenant_token = self.target.tenant_token
            if not (self.tenant_url and self.org_id and self.tenant_token):
                raise self.fail(f"no tenant for runtime {self.runtime}: provision has not run "
                                "(run the provision step, or pass --tenant-url/--org-id/--tenant-token)")
            self.log.redactor.add(self.tenant_token)
            self.tenant = Tenant(self.tenant_url, self.org_id, self.tenant_token, self.log, self.budgets.http_request)
        return self.tenant

    def workspace(self) -> str:
        """The workspace id, attaching to --workspace-id when provision was not run (-k reruns)."""
        if self.workspace_id is None and self.target.workspace_id:
            self.workspace_id = self.target.workspace_id
            self._tenant()
            self._start_feed()
        if self.workspace_id is None:
            raise self.fail(f"no workspace for runtime {self.runtime}: provision has not run (or pass --workspace-id)")
        return self.workspace_id

    def _start_feed(self) -> None:
        if self.feed is not None or self.settings.events == "off":
            return
        tenant = self._tenant()
        feed = EventFeed(tenant.ws_base + "/ws", {"X-Molecule-Org-Id": tenant.org_id or ""},
                         open_timeout=min(self.budgets.http_request, 5.0))
        if feed.start():
            self.feed = feed
            self.log.progress(f"following platform events on {tenant.ws_base}/ws")
        else:
            self.log.progress(f"events websocket unavailable ({feed.error[:120]}) — polling")
        if self.feed and self.workspace_id:
            self.feed.watch(self.workspace_id)

    def close(self) -> None:
        for closer in (self.feed, self.tenant, self.cp):
            if closer is not None:
                closer.close()
        self.feed = self.tenant = self.cp = None

    # ------------------------------------------------------------------ 0. preflight

    def preflight(self) -> None:
        t = self.target
        self.log.log(RULE)
        self.log.log(" Platform Boot E2E (pytest suite)")
        self.log.log(f"   CP:      {t.cp_url or '<none: existing tenant>'}")
        self.log.log(f"   Tenant:  {t.tenant_url or '<per-org: tenant URL rule>'}")
        self.log.log(f"   Runtime: {self.runtime}")
        self.log.log(f"   Mode:    smoke ({t.kind}{' faults=' + ','.join(t.faults) if t.faults else ''})")
        self.log.log(f"   Timeout: {self.budgets.workspace_online:.0f}s")
        if t.cp_url:
            self.log.log("0/11 Preflight: CP reachable?")
            reply = self._cp().health()
            if not reply.ok:
                raise self.fail(f"CP health check failed ({reply.describe()})", infra=True)
            self.log.ok("CP reachable")
        base_url = t.tenant_url or t.cp_url
        client = Tenant(base_url, None, None, self.log, self.budgets.http_request) if base_url else None
        self.log.log(f"0/11 Preflight: deployed build (/buildinfo on {base_url})...")
        try:
            reply = client.buildinfo() if client else Reply(status=0, error="no URL")
        finally:
            if client:
                client.close()
        expected = self.settings.expected_sha
        got = str(reply.field("git_sha") or "") if reply.ok else ""
        host = urlparse(base_url or "").netloc or "tenant"
        if not got:
            if expected:
                raise self.fail(f"Preflight: {host} did not return /buildinfo ({reply.describe()}); "
                                f"cannot verify expected build {expected[:8]}")
            self.log.progress(f"/buildinfo not served ({reply.describe()}) — deployed build not recorded")
            return
        self.log.progress(f"deployed build git_sha={got}")
        self.log.event("buildinfo", f"git_sha={got}", git_sha=got, expected=expected)
        if expected and not (got.startswith(expected) or expected.startswith(got)):
            raise self.fail(f"Preflight: {host} is stale: actual={got[:8]}, expected={expected[:8]} — "
                            f"/buildinfo git_sha={got} but this run expects {expected} "
                            "(deploy lag: the published build is not deployed on this tenant)")
        self.log.ok(f"Deployed build verified: git_sha={got[:8]}"
                    + (f" matches expected {expected[:8]}" if expected else " (no --expected-sha given)"))

    # ------------------------------------------------------------------ 1. provision

    def provision(self) -> None:
        if self.target.kind in ("local", "fresh-org"):
            self._provision_org()
        else:
            tenant = self._tenant()
            self.log.log(f"1/11 Using existing tenant {tenant.url} (org {tenant.org_id})")
            self._wait_tenant_health()
        self._start_feed()
        if self.target.workspace_id:
            self.workspace_id = self.target.workspace_id
            self.log.log(f"5/11 Reusing workspace {self.workspace_id} (--workspace-id; never deleted)")
        else:
            self._create_workspace()
        if self.feed:
            self.feed.watch(self.workspace_id)
        budget = self.budgets.workspace_online
        span = f"{budget / 60:.0f} min" if budget >= 120 else f"{budget:.0f}s"
        self._wait_online(f"7/11 Waiting for workspace(s) to reach status=online (up to {span} — hermes cold boot)...",
                          announce_routable=False)

    def _provision_org(self) -> None:
        cp = self._cp()
        date = datetime.now(timezone.utc).strftime("%Y%m%d")
        self.slug = make_slug(self.runtime, self.settings.run_id, date, secrets.token_hex(4))
        self.log.log(f"1/11 Creating org {self.slug} via /cp/admin/orgs...")
        reply = cp.create_org(self.slug)
        org_id = reply.field("id") if reply.ok else None
        if not org_id:
            raise self.fail(f"Org create returned non-2xx (http={reply.status or '000'}) — {reply.text[:300]} "
                            "Common causes: 409=slug collision, 400=slug too long, 401=ADMIN_TOKEN not set "
                            "or expired, 422=schema mismatch.")
        self.org_id = str(org_id)
        self.created_org = True
        ledger.record(self.settings.reports_dir, "created",
                      ledger.Resource("org", self.slug, self.runtime, org_id=self.org_id))
        self.log.ok(f"Org created (id={self.org_id} http={reply.status} slug_len={len(self.slug)})")

        self.log.log(f"2/11 Waiting for tenant provisioning (up to {self.budgets.tenant_provision:.0f}s)...")
        seen: dict[str, str] = {}

        def org_ready() -> dict[str, Any]:
            listing = cp.list_orgs()
            classify_http(listing, "GET /cp/admin/orgs")
            rows = [o for o in (listing.field("orgs") or []) if isinstance(o, dict) and o.get("slug") == self.slug]
            status = str(rows[0].get("instance_status") or "") if rows else "<not listed>"
            if seen.get("status") != status:
                seen["status"] = status
                self.log.log(f"    status → {status}")
            if status == "running":
                return rows[0]
            if status in ("failed", "purged"):
                raise Stop(f"instance_status={status} last_error={rows[0].get('last_error')!r}")
            raise Pending(f"instance_status={status}")

        try:
            self.waiter().until(org_ready, self.budgets.tenant_provision, f"org {self.slug}")
        except Stop as exc:
            self.log.log("── DIAGNOSTIC BURST (step 2 — tenant provisioning failed) ──")
            self.log.log(f"    {exc}")
            raise self.fail(f"Tenant provisioning failed for {self.slug} (see diagnostic above for last_error)") from None
        except WaitTimeout as exc:
            raise self.fail(f"Tenant provisioning timed out after {exc.elapsed:.0f}s (last: {exc.state})",
                            infra=True) from None
        self.log.ok("Tenant provisioning complete")
        self.tenant_url = self.target.tenant_url or tenant_url_for(self.target.cp_url or "", self.slug)
        self.log.log(f"    TENANT_URL={self.tenant_url}")

        self.log.log("3/11 Fetching per-tenant admin token...")
        token_reply = cp.tenant_admin_token(self.slug)
        token = token_reply.field("admin_token") if token_reply.ok else None
        if not token:
            raise self.fail(f"Could not retrieve per-tenant admin token for {self.slug}")
        self.tenant_token = str(token)
        self.log.redactor.add(self.tenant_token)
        self.log.ok(f"Tenant admin token retrieved (len={len(self.tenant_token)})")
        self._tenant()
        self._wait_tenant_health()

    def _wait_tenant_health(self) -> None:
        tenant = self._tenant()
        self.log.log("4/11 Waiting for tenant TLS / DNS propagation...")

        def healthy() -> None:
            reply = tenant.health(timeout=min(5.0, self.budgets.http_request))
            if not reply.ok:
                raise Pending(f"GET /health → {reply.status or '000'} (rc={reply.rc})")

        try:
            self.waiter().until(healthy, self.budgets.tenant_health, "tenant /health")
        except WaitTimeout:
            raise self.fail(f"Tenant URL never responded 2xx on /health within {self.budgets.tenant_health:.0f}s",
                            infra=True) from None
        self.log.ok(f"Tenant reachable at {tenant.url}")

    def _create_workspace(self) -> None:
        tenant = self._tenant()
        self.log.log(f"    MODEL_SLUG={self.settings.model}")
        self.log.log(f"5/11 Provisioning parent workspace (runtime={self.runtime})...")
        body = {"name": "E2E Parent", "tier": 2, "model": self.settings.model,
                "secrets": dict(self.settings.workspace_secrets), "runtime": self.runtime}
        reply = tenant.create_workspace(body)
        wid = reply.field("id") if reply.ok else None
        if not wid:
            raise self.fail(f"Parent workspace create returned no 'id' (runtime={self.runtime}, template=<none>). "
                            f"Response: {reply.describe()}")
        self.workspace_id = str(wid)
        self.created_workspace = True
        ledger.record(self.settings.reports_dir, "created",
                      ledger.Resource("workspace", self.workspace_id, self.runtime, tenant.url, tenant.org_id or ""))
        self.log.log(f"    PARENT_ID={self.workspace_id}")

    # ------------------------------------------------------------------ waits on the workspace

    def _wait_online(self, header: str, announce_routable: bool = True) -> dict[str, Any]:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log(header)
        budgets = self.budgets
        state: dict[str, Any] = {"failed_since": None, "noted": set(), "last": {}}

        def probe() -> dict[str, Any]:
            reply = tenant.get_workspace(wid)
            if reply.status == 410:
                raise Stop("workspace removed (410)")
            classify_http(reply, f"GET /workspaces/{wid}")
            data = reply.json() or {}
            state["last"] = data
            status, url = str(data.get("status") or ""), str(data.get("url") or "")
            if status != self._status_seen:
                self._status_seen = status
                self.log.log(f"    {wid} → {status}")
                last_event = self.feed.last_event if self.feed else None
                self.log.event("status", f"{wid} → {status}", status=status, url=url,
                               platform_ts=(last_event or {}).get("timestamp"),
                               via="events" if self.feed and self.feed.connected else "poll")
            if status == "online" and url:
                return data
            if status == "online" and "no-url" not in state["noted"]:
                state["noted"].add("no-url")
                self.log.log(f"    {wid} online but URL is not assigned yet — waiting for workspace routing readiness")
            if status == "failed":
                if state["failed_since"] is None:
                    state["failed_since"] = time.monotonic()
                    self.log.log(f"    {wid} transiently failed — waiting for heartbeat recovery "
                                 "(bootstrap-watcher deadline, see cp#245)")
                elif time.monotonic() - state["failed_since"] > budgets.failed_grace:
                    raise Stop(f"status=failed for more than {budgets.failed_grace:.0f}s (failed grace)")
            else:
                state["failed_since"] = None
            if status in ("removed", "paused", "hibernated"):
                raise Stop(f"status={status} (terminal for this wait)")
            raise Pending(f"status={status or '<empty>'} url={url or '<empty>'}")

        started = time.monotonic()
        try:
            data = self.waiter().until(probe, budgets.workspace_online, f"workspace {wid} online")
        except (WaitTimeout, Stop) as exc:
            elapsed = time.monotonic() - started
            last = state["last"]
            err = " | ".join(line.strip() for line in self._last_sample_error(wid).splitlines() if line.strip())
            why = f" — {exc}" if isinstance(exc, Stop) else ""
            raise self.fail(f"Workspace {wid} never reached status=online within {elapsed:.0f}s "
                            f"(~{elapsed / 60:.0f} min) (last status={last.get('status', '')}, "
                            f"url={last.get('url') or ''}, err={err}){why}") from None
        self.workspace_url = str(data.get("url"))
        if announce_routable:
            self.log.log(f"    {wid} url ready: {self.workspace_url}")
            self.log.ok(f"    {wid} online and routable")
        return data

    def _last_sample_error(self, wid: str) -> str:
        reply = self._tenant().list_workspaces()
        rows = reply.json() if reply.ok else None
        if isinstance(rows, dict):
            rows = rows.get("workspaces")
        for row in rows or []:
            if isinstance(row, dict) and row.get("id") == wid:
                return str(row.get("last_sample_error") or "")
        return ""

    # ------------------------------------------------------------------ 2. routing

    def routing(self) -> None:
        self._wait_online("7/11 Checking workspace routing (online and routable through the tenant)...")

    # ------------------------------------------------------------------ 3. image round-trip

    def image_roundtrip(self) -> None:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log("7a/11 Real image upload/download round-trip...")
        png = make_png()
        digest = hashlib.sha256(png).hexdigest()
        up = tenant.upload(wid, "e2e-smoke.png", png, "image/png")
        if up.status not in (200, 201):
            raise self.fail(f"Workspace {wid} image upload returned {up.status or '000'}: {up.text[:300] or up.error}",
                            infra=up.status == 0)
        files = up.field("files") or []
        first = files[0] if files and isinstance(files[0], dict) else {}
        uri = str(first.get("uri") or "")
        if not uri.startswith("workspace:"):
            raise self.fail(f"Workspace {wid} upload response had no workspace URI")
        if first.get("mimeType") != "image/png":
            raise self.fail(f"Workspace {wid} upload returned mime={first.get('mimeType')}, want image/png")
        down = tenant.download(wid, uri[len("workspace:"):])
        if down.status != 200:
            raise self.fail(f"Workspace {wid} image download returned {down.status or '000'}: "
                            f"{down.text[:300] or down.error}", infra=down.status == 0)
        got = hashlib.sha256(down.body).hexdigest()
        if got != digest:
            raise self.fail(f"Workspace {wid} image download SHA mismatch: upload={digest} download={got}")
        self.log.ok(f"    {wid} image upload/download OK (image/png, sha256={digest})")

    # ------------------------------------------------------------------ 4. terminal

    def terminal(self) -> None:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log("7b/11 Canvas-terminal websocket probe (run a command, read its nonce back)...")
        result = terminal_probe(f"{tenant.ws_base}/workspaces/{wid}/terminal", tenant.headers,
                                timeout=self.budgets.http_request)
        self.log.event("terminal", result.detail, ok=result.ok)
        if not result.ok:
            raise self.fail(f"Workspace {wid} terminal probe failed: {result.detail}")
        self.log.ok(f"    {wid} terminal-reachable (canvas terminal will work; nonce {result.detail} read back)")

    # ------------------------------------------------------------------ 5. config PUT

    def config_put(self) -> None:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log("7c/11 Files API config.yaml round-trip...")
        before = tenant.get_workspace(wid).json() or {}
        reply = tenant.put_file(wid, "config.yaml", config_yaml(self.settings.run_id, self.runtime))
        if reply.status not in (200, 204):
            raise self.fail(f"Workspace {wid} Files API PUT config.yaml returned {reply.status or '000'}: "
                            f"{reply.text[:300] or reply.error} — likely a path-map or permission regression "
                            "in workspace-server template_files_eic.go")
        self.log.ok(f"    {wid} config.yaml PUT OK (HTTP {reply.status})")
        self._observe_restart(wid, str(before.get("url") or ""))
        self._wait_online("7d/11 Waiting for workspace(s) to recover routing after config.yaml PUT...")

    def _observe_restart(self, wid: str, old_url: str) -> None:
        """The PUT answers before the restart begins: look for it (status or URL change) within the grace."""
        tenant = self._tenant()

        def restarted() -> str:
            reply = tenant.get_workspace(wid)
            classify_http(reply, f"GET /workspaces/{wid}")
            data = reply.json() or {}
            status, url = str(data.get("status") or ""), str(data.get("url") or "")
            if status != "online" or url != old_url:
                return f"status={status} url={url or '<empty>'}"
            raise Pending("online, same URL")

        try:
            seen = self.waiter().until(restarted, self.budgets.settle_grace, f"config restart of {wid}")
            self.log.log(f"    {wid} restart after config.yaml PUT observed ({seen})")
        except (WaitTimeout, Stop):
            self.log.log(f"    {wid} no restart observed within {self.budgets.settle_grace:g}s of the config.yaml PUT")

    # ------------------------------------------------------------------ 6/7. A2A

    def pong(self) -> None:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log("8/11 Sending A2A message to parent — expecting agent response...")
        outcome = send_and_poll(tenant, wid, message_body("e2e-msg-1", PONG_PROMPT), "A2A parent",
                                self.pace, self.budgets.a2a_request, self.log, time.sleep)
        if not outcome.ok:
            raise self.fail(outcome.failure, infra=outcome.infra)
        verdict = check_pong(outcome.payload, self.settings.model)
        if verdict.burst:
            self.log.log(verdict.burst)
        if not verdict.ok:
            raise self.fail(verdict.line)
        self.log.ok(verdict.line)

    def known_answer(self) -> None:
        tenant, wid = self._tenant(), self.workspace()
        self.log.log("8b/11 Known-answer A2A probe (PINEAPPLE; a 202 queued answer is followed through the queue)...")
        outcome = send_and_poll(tenant, wid, message_body("e2e-known-answer-1", KNOWN_ANSWER_PROMPT),
                                "A2A known-answer", self.pace, self.budgets.a2a_request, self.log, time.sleep)
        if not outcome.ok:
            raise self.fail(outcome.failure, infra=outcome.infra)
        verdict = check_known_answer(outcome.payload, self.runtime, self.settings.model)
        if verdict.burst:
            self.log.log(verdict.burst)
        if not verdict.ok:
            raise self.fail(verdict.line)
        self.log.ok(verdict.line)

    # ------------------------------------------------------------------ teardown

    def teardown(self) -> list[str]:
        """Delete what this runtime created and verify it is gone; returns leak messages."""
        leaks: list[str] = []
        reports = self.settings.reports_dir
        if self.settings.keep:
            what = self.slug or self.workspace_id
            if what:
                self.log.log(f"--keep (E2E_KEEP_ORG=1) — skipping teardown. Manually delete {what} when done.")
                for kind, ident in (("workspace", self.workspace_id if self.created_workspace else None),
                                    ("org", self.slug if self.created_org else None)):
                    if ident:
                        ledger.record(reports, "kept", ledger.Resource(kind, ident, self.runtime))
            return leaks
        if self.created_workspace and self.workspace_id and self.tenant is not None:
            leak = delete_workspace(self.tenant, self.workspace_id, self.log, self.pace, self.budgets.leak_check)
            res = ledger.Resource("workspace", self.workspace_id, self.runtime, self.tenant.url, self.tenant.org_id or "")
            ledger.record(reports, "leak" if leak else "deleted", res, **({"message": leak} if leak else {}))
            if leak:
                leaks.append(leak)
        if self.created_org and self.slug:
            leak = delete_org(self._cp(), self.slug, self.log, self.pace, self.budgets.leak_check)
            res = ledger.Resource("org", self.slug, self.runtime, org_id=self.org_id or "")
            ledger.record(reports, "leak" if leak else "deleted", res, **({"message": leak} if leak else {}))
            if leak:
                leaks.append(leak)
        return leaks


def _request_teardown(log: RunLog, what: str, send_delete: Callable[[], Any]) -> None:
    """Announce the teardown of `what` (the broom line marks the teardown step), send the DELETE, log the answer."""
    log.log(f"{BROOM} Tearing down {what}...")
    reply = send_delete()
    if reply.ok:
        log.ok("Teardown request accepted")
    else:
        log.log(f"Teardown returned non-2xx (may already be gone): {reply.describe()}")


def delete_workspace(tenant: Tenant, wid: str, log: RunLog, pace: Any, budget: float) -> str | None:
    """DELETE the workspace and verify it is gone (404/410 or status removed). Returns a leak message."""
    _request_teardown(log, f"workspace {wid}", lambda: tenant.delete_workspace(wid))

    def gone() -> None:
        check = tenant.get_workspace(wid)
        if check.status in (404, 410) or (check.ok and check.field("status") == "removed"):
            return
        raise Pending(f"http={check.status or '000'} status={check.field('status')}")

    started = time.monotonic()
    try:
        Waiter(pace, log).until(gone, budget, f"workspace {wid} removed")
    except WaitTimeout as exc:
        message = f"LEAK: workspace {wid} still present post-teardown after {exc.elapsed:.0f}s ({exc.state})"
        log.raw(f"⚠️  {message}")
        return message
    log.ok(f"Teardown clean — workspace {wid} removed ({time.monotonic() - started:.1f}s)")
    return None


def delete_org(cp: ControlPlane, slug: str, log: RunLog, pace: Any, budget: float) -> str | None:
    """DELETE the tenant and run the leak check (any listed row with the slug is a leak)."""
    _request_teardown(log, f"org {slug}", lambda: cp.delete_tenant(slug))
    count = {"n": -1}

    def gone() -> None:
        listing = cp.list_orgs()
        if not listing.ok:
            raise Pending(f"list orgs http={listing.status or '000'}")
        rows = [o for o in (listing.field("orgs") or []) if isinstance(o, dict) and o.get("slug") == slug]
        count["n"] = len(rows)
        if rows:
            raise Pending(f"count={len(rows)}")

    started = time.monotonic()
    try:
        Waiter(pace, log).until(gone, budget, f"org {slug} gone")
    except WaitTimeout as exc:
        message = f"LEAK: org {slug} still present post-teardown after {exc.elapsed:.0f}s (count={count['n']})"
        log.raw(f"⚠️  {message}")
        return message
    log.ok(f"Teardown clean — no orphan resources for {slug} ({time.monotonic() - started:.1f}s)")
    return None
