"""Command-line options of the boot suite and their resolution into one immutable `Settings`.

Invariants:
- Every option has an environment fallback (`E2E_*` or the harness's own `MOLECULE_*` names).
- `resolve_target` is pure: options in, a `Target` out (or a `UsageError` with one clear line).
- Budgets default to the real harness's values; `Pace` scales sleeps to the target
  (sub-second against the local tenant, harness-like against staging).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_RUNTIME = "claude-code"   # platform-api.md §12.2: the [J] Platform Boot job
DEFAULT_MODEL = "moonshot/kimi-k2.6"


class UsageError(Exception):
    """A bad option combination: one line for the user, exit 2."""


@dataclass(frozen=True, slots=True)
class Budgets:
    """Time budgets in seconds (harness defaults; see platform-api.md §12.2)."""

    tenant_provision: float = 900.0      # 2/11 instance_status poll
    tenant_health: float = 900.0         # 4/11 tenant /health
    workspace_online: float = 3600.0     # 7/11 E2E_WORKSPACE_ONLINE_TIMEOUT_SECS
    failed_grace: float = 300.0          # how long a `failed` workspace may recover
    settle_grace: float = 20.0           # after config PUT: how long to look for the restart
    a2a_request: float = 90.0            # --max-time 90 per A2A attempt
    http_request: float = 30.0           # curl --max-time 30
    leak_check: float = 60.0             # [J] leak check: every 5 s for up to 60 s


@dataclass(frozen=True, slots=True)
class Pace:
    """Sleep lengths; the only knob that differs between local and remote targets."""

    poll_base: float
    poll_cap: float
    gateway_sleep: float
    agent_origin_sleep: float
    queue_poll_sleep: float
    leak_poll: float
    progress_every: float

    @staticmethod
    def remote() -> "Pace":
        return Pace(poll_base=1.0, poll_cap=15.0, gateway_sleep=10.0, agent_origin_sleep=30.0,
                    queue_poll_sleep=2.0, leak_poll=5.0, progress_every=30.0)

    @staticmethod
    def local() -> "Pace":
        return Pace(poll_base=0.02, poll_cap=0.25, gateway_sleep=0.2, agent_origin_sleep=0.5,
                    queue_poll_sleep=0.25, leak_poll=0.1, progress_every=2.0)


LOCAL_BUDGETS = Budgets(tenant_provision=30.0, tenant_health=30.0, workspace_online=60.0,
                        failed_grace=3.0, settle_grace=3.0, a2a_request=30.0,
                        http_request=15.0, leak_check=10.0)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the suite boots workspaces.

    kind: "local" (start fixtures.tenant), "fresh-org" (CP admin API), "existing" (a tenant).
    For "local" the URLs/tokens are filled in once the tenant printed its READY line.
    """

    kind: str
    cp_url: str | None = None
    admin_token: str | None = None
    tenant_url: str | None = None        # fixed tenant base URL (local; or override for fresh-org)
    org_id: str | None = None
    tenant_token: str | None = None
    workspace_id: str | None = None
    faults: tuple[str, ...] = ()
    check_mode: str | None = None
    server_log: str | None = None
    published_sha: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in _fields(self).items()}

    @staticmethod
    def from_json(data: dict[str, Any]) -> "Target":
        data = dict(data)
        data["faults"] = tuple(data.get("faults") or ())
        return Target(**data)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@dataclass(frozen=True, slots=True)
class Settings:
    target: Target
    runtimes: tuple[str, ...]
    model: str
    budgets: Budgets
    pace: Pace
    reports_dir: Path
    expected_sha: str | None
    keep: bool
    sweep_stale_hours: float | None
    workspace_secrets: dict[str, str] = field(default_factory=dict)
    run_id: str = "local"
    events: str = "on"

    def with_target(self, target: Target) -> "Settings":
        return replace(self, target=target)

    def secrets(self) -> list[str]:
        """Every secret value this run holds (for the redactor)."""
        t = self.target
        return [v for v in (t.admin_token, t.tenant_token, *self.workspace_secrets.values()) if v]


# ---------------------------------------------------------------- option table (data)

# (flag, dest, env, kind, default, help)
OPTIONS: tuple[tuple[str, str, str | None, str, Any, str], ...] = (
    ("--cp-url", "e2e_cp_url", "MOLECULE_CP_URL", "str", None, "control plane URL: boot in a fresh org"),
    ("--admin-token", "e2e_admin_token", "MOLECULE_ADMIN_TOKEN", "str", None, "CP admin bearer token"),
    ("--tenant-url", "e2e_tenant_url", "E2E_TENANT_URL", "str", None,
     "existing tenant base URL (with --cp-url: fixed tenant URL instead of the slug rule)"),
    ("--org-id", "e2e_org_id", "E2E_ORG_ID", "str", None, "org UUID of the existing tenant (X-Molecule-Org-Id)"),
    ("--tenant-token", "e2e_tenant_token", "E2E_TENANT_TOKEN", "str", None, "tenant admin bearer token"),
    ("--workspace-id", "e2e_workspace_id", "E2E_WORKSPACE_ID", "str", None,
     "reuse this workspace (rerun from a step with -k); never deleted"),
    ("--runtime", "e2e_runtimes", "E2E_RUNTIME", "list", None,
     f"runtime to boot (repeatable; default {DEFAULT_RUNTIME})"),
    ("--model", "e2e_model", "E2E_MODEL", "str", DEFAULT_MODEL, "model slug for the workspace"),
    ("--fault", "e2e_faults", "E2E_FAULT", "list", None, "local tenant only: start it with this fault (repeatable)"),
    ("--check-mode", "e2e_check_mode", "E2E_CHECK_MODE", "str", None,
     "local tenant only: dead-container check fixed|legacy"),
    ("--expected-sha", "e2e_expected_sha", "E2E_EXPECTED_SHA", "str", None,
     "preflight: /buildinfo git_sha must start with this"),
    ("--keep", "e2e_keep", "E2E_KEEP_ORG", "flag", False, "skip teardown (leave org/workspace)"),
    ("--sweep-stale", "e2e_sweep_stale", "E2E_SWEEP_STALE_HOURS", "float", None,
     "before the run, delete e2e-* orgs older than HOURS (CP targets)"),
    ("--reports-dir", "e2e_reports_dir", "E2E_REPORTS_DIR", "str", "reports", "where reports go"),
    ("--workspace-secret", "e2e_workspace_secrets", None, "list", None,
     "NAME=VALUE secret passed to workspace create (repeatable; redacted everywhere)"),
    ("--events", "e2e_events", "E2E_EVENTS", "str", "on",
     "follow the /ws events websocket to end waits early (on) or poll only (off)"),
    ("--run-id", "e2e_run_id", "E2E_RUN_ID", "str", None, "run id used in slugs and the config.yaml marker"),
    # budgets (seconds); remote defaults are the harness's, local ones are small
    ("--provision-timeout", "e2e_tenant_provision", "E2E_PROVISION_TIMEOUT_SECS", "float", None,
     "tenant provisioning budget (harness: 900)"),
    ("--tenant-health-timeout", "e2e_tenant_health", "E2E_TENANT_HEALTH_TIMEOUT_SECS", "float", None,
     "tenant /health budget (harness: 900)"),
    ("--online-timeout", "e2e_workspace_online", "E2E_WORKSPACE_ONLINE_TIMEOUT_SECS", "float", None,
     "workspace online+routable budget (harness: 3600)"),
    ("--failed-grace", "e2e_failed_grace", "E2E_FAILED_GRACE_SECS", "float", None,
     "how long status=failed may recover before the wait stops (remote 300)"),
    ("--settle-grace", "e2e_settle_grace", "E2E_SETTLE_GRACE_SECS", "float", None,
     "after config PUT, how long to look for the restart (remote 20)"),
    ("--a2a-timeout", "e2e_a2a_request", "E2E_A2A_TIMEOUT_SECS", "float", None,
     "per-attempt A2A request budget (harness: 90)"),
    ("--http-timeout", "e2e_http_request", "E2E_HTTP_TIMEOUT_SECS", "float", None,
     "per-request HTTP budget (harness: 30)"),
    ("--leak-timeout", "e2e_leak_check", "E2E_LEAK_TIMEOUT_SECS", "float", None,
     "post-teardown leak check budget (harness: 60)"),
)

BUDGET_DESTS = {f.name for f in Budgets.__dataclass_fields__.values()}  # type: ignore[attr-defined]


def add_options(parser: Any) -> None:
    group = parser.getgroup("e2e", "Platform Boot suite")
    for flag, dest, env, kind, default, help_text in OPTIONS:
        suffix = f" [env {env}]" if env else ""
        if kind == "flag":
            group.addoption(flag, dest=dest, action="store_true", default=False, help=help_text + suffix)
        elif kind == "list":
            group.addoption(flag, dest=dest, action="append", default=None, help=help_text + suffix)
        else:
            group.addoption(flag, dest=dest, action="store", default=None, help=help_text + suffix)


def raw_values(getoption: Any, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Option values with env fallbacks applied (dest without the e2e_ prefix -> value)."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    for flag, dest, env, kind, default, _ in OPTIONS:
        value = getoption(dest)
        if value in (None, False) and env and environ.get(env):
            text = environ[env]
            if kind == "flag":
                value = text.strip().lower() in {"1", "true", "yes", "on"}
            elif kind == "list":
                value = [part.strip() for part in text.split(",") if part.strip()]
            else:
                value = text
        if value is None:
            value = default
        if kind == "float" and value is not None:
            try:
                value = float(value)
            except ValueError:
                raise UsageError(f"{flag} expects a number of seconds/hours, got {value!r}") from None
            if value <= 0:
                raise UsageError(f"{flag} must be positive, got {value}")
        values[dest[len("e2e_"):]] = value
    return values


def resolve_target(v: dict[str, Any]) -> Target:
    faults = tuple(v.get("faults") or ())
    if v.get("cp_url"):
        if not v.get("admin_token"):
            raise UsageError("--cp-url needs --admin-token (or MOLECULE_ADMIN_TOKEN)")
        _no_local_only(v, "--cp-url")
        return Target(kind="fresh-org", cp_url=v["cp_url"].rstrip("/"), admin_token=v["admin_token"],
                      tenant_url=(v.get("tenant_url") or "").rstrip("/") or None,
                      workspace_id=v.get("workspace_id"))
    if v.get("tenant_url") or v.get("org_id") or v.get("tenant_token"):
        missing = [f for f, k in (("--tenant-url", "tenant_url"), ("--org-id", "org_id"),
                                  ("--tenant-token", "tenant_token")) if not v.get(k)]
        if missing:
            raise UsageError(f"an existing tenant needs --tenant-url, --org-id and --tenant-token (missing {', '.join(missing)})")
        _no_local_only(v, "--tenant-url")
        return Target(kind="existing", tenant_url=v["tenant_url"].rstrip("/"), org_id=v["org_id"],
                      tenant_token=v["tenant_token"], workspace_id=v.get("workspace_id"))
    if v.get("workspace_id"):
        raise UsageError("--workspace-id needs an existing tenant (--tenant-url/--org-id/--tenant-token)")
    mode = v.get("check_mode")
    if mode not in (None, "fixed", "legacy"):
        raise UsageError(f"--check-mode must be 'fixed' or 'legacy' (got: {mode})")
    return Target(kind="local", faults=faults, check_mode=mode)


def _no_local_only(v: dict[str, Any], flag: str) -> None:
    if v.get("faults") or v.get("check_mode"):
        raise UsageError(f"--fault/--check-mode only apply to the local tenant, not with {flag}")


def parse_secrets(items: list[str] | None) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) or not value:
            raise UsageError(f"--workspace-secret expects NAME=VALUE with an upper-case NAME (got {name!r})")
        secrets[name] = value
    return secrets


def resolve_settings(v: dict[str, Any], run_id: str) -> Settings:
    target = resolve_target(v)
    local = target.is_local or bool(target.tenant_url and _is_loopback(target.tenant_url))
    base = LOCAL_BUDGETS if local else Budgets()
    budgets = replace(base, **{k: v[k] for k in BUDGET_DESTS if v.get(k) is not None})
    runtimes = tuple(dict.fromkeys(v.get("runtimes") or [DEFAULT_RUNTIME]))
    for runtime in runtimes:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", runtime):
            raise UsageError(f"--runtime {runtime!r} is not a valid runtime name")
    return Settings(
        target=target,
        runtimes=runtimes,
        model=v.get("model") or DEFAULT_MODEL,
        budgets=budgets,
        pace=Pace.local() if local else Pace.remote(),
        reports_dir=Path(v.get("reports_dir") or "reports"),
        expected_sha=v.get("expected_sha"),
        keep=bool(v.get("keep")),
        sweep_stale_hours=v.get("sweep_stale"),
        workspace_secrets=parse_secrets(v.get("workspace_secrets")),
        run_id=_slug_part(v.get("run_id") or run_id),
        events=_on_off(v.get("events")),
    )


def _on_off(value: str | None) -> str:
    if value in (None, "on", "off"):
        return value or "on"
    raise UsageError(f"--events must be 'on' or 'off' (got: {value})")


def _is_loopback(url: str) -> bool:
    return bool(re.match(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", url))


def _slug_part(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", text.lower().replace("_", "-")) or "run"


def tenant_url_for(cp_url: str, slug: str, environ: dict[str, str] | None = None) -> str:
    """The harness's tenant URL rule (platform-api.md §1)."""
    environ = dict(os.environ) if environ is None else environ
    host = re.sub(r"^[a-z]+://", "", cp_url).split("/", 1)[0]
    if host.startswith("api."):
        domain = host[len("api."):]
    elif host.startswith("staging-api."):
        domain = "staging." + host[len("staging-api."):]
    else:
        domain = host
    domain = environ.get("MOLECULE_TENANT_DOMAIN") or domain
    return f"https://{slug}.{domain}"


def make_slug(runtime: str, run_id: str, date: str, suffix: str) -> str:
    """`e2e-<YYYYMMDD>-<run id>-<8 hex>` within 32 chars, runtime folded into the run-id budget."""
    budget = 32 - len(f"e2e-{date}--{suffix}")
    runtime_part = _slug_part(runtime)[:3] or "r"
    middle = f"{run_id[:max(budget - len(runtime_part) - 1, 1)].strip('-') or 'r'}-{runtime_part}"
    return f"e2e-{date}-{middle}-{suffix}"
