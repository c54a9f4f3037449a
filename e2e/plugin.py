"""pytest plugin of the boot suite: target lifecycle, reports, teardown safety net, RCA.

Invariants:
- Inert unless the session runs the suite (a path argument inside e2e/).
- The controlling process (the only one without `workerinput`) owns the session: it writes the
  dated run.log header, starts/stops the local tenant, sweeps stale orgs, runs the safety-net
  teardown from the ledger, maps leaks to exit 4, and renders the RCA of a failed run.
- Workers (or the single process) run one runtime's steps in order; `-n N` distributes whole
  runtimes (xdist LoadScope scheduling whose scope is the runtime parameter).
- The local tenant is launched in pytest_configure and awaited only when needed (session start, or the
  first worker's configuration), so it boots while xdist starts its workers; it is asked to stop as soon
  as the last worker is cleanly down. Workers skip unused entry-point plugins and assertion rewriting.
- SIGTERM becomes KeyboardInterrupt, so fixture teardown and session finish always run.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from e2e import ledger, local_tenant
from e2e.client import ControlPlane, Tenant
from e2e.options import Settings, UsageError, raw_values, resolve_settings
from e2e.rca import render_rca, write_atomic
from e2e.runlog import RunLog
from e2e.steps import Boot, StepFailed, delete_org, delete_workspace
from forensics.redact import Redactor

SUITE_DIR = Path(__file__).resolve().parent
STATE_KEY = pytest.StashKey["SuiteState"]()
UNUSED_PLUGINS = ("hypothesispytest",)
# Entry-point plugins a worker never needs: `-p no:NAME` keeps them from being imported at all there
# (anyio + hypothesis are ~0.14 s of each worker's ~0.45 s start-up on this machine).
WORKER_UNUSED_PLUGINS = ("anyio", "hypothesispytest")

CATEGORIES = [
    {"name": "Teardown leak (harness exit 4)", "matchedStatuses": ["failed", "broken"], "messageRegex": "(?s).*LEAK.*"},
    {"name": "Infrastructure problem", "matchedStatuses": ["failed", "broken"], "messageRegex": r"(?s)^\[infra\].*"},
    {"name": "Blocked by an earlier step", "matchedStatuses": ["skipped"], "messageRegex": "(?s).*blocked by.*"},
    {"name": "Product defect", "matchedStatuses": ["failed"]},
    {"name": "Suite error", "matchedStatuses": ["broken"]},
]


def suite_selected(config: pytest.Config) -> bool:
    for arg in config.args or []:
        path = Path(str(arg).split("::", 1)[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        try:
            path.resolve().relative_to(SUITE_DIR)
            return True
        except ValueError:
            continue
    return False


def _in_suite(path: Path) -> bool:
    try:
        path.resolve().relative_to(SUITE_DIR)
        return True
    except ValueError:
        return False


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class SuiteState:
    """Per-process state: settings, run log, boots, and (controller) the local tenant."""

    def __init__(self, settings: Settings, log: RunLog, started: datetime) -> None:
        self.settings = settings
        self.log = log
        self.started = started
        self.tenant: local_tenant.LocalTenant | None = None
        self.target_error: str | None = None
        self.boots: dict[str, Boot] = {}
        self.follower: "Follower | None" = None
        self.server_log: Path | None = None
        self.launch: local_tenant.LocalTenant | None = None   # launched, READY not yet awaited
        self.launch_started = 0.0
        self.target_finished: bool | None = None   # finish_target's result once it has run


# ---------------------------------------------------------------------- configuration


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    if not suite_selected(config):
        return
    for name in UNUSED_PLUGINS:  # e.g. hypothesis imports itself at terminal summary (~1 s per process)
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    if is_worker(config):
        return
    try:
        values = raw_values(config.getoption)
    except UsageError:
        return  # reported in pytest_configure
    reports = Path(values.get("reports_dir") or "reports")
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(reports / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(reports / "allure-results")
        config.option.clean_alluredir = True
    explicit_dist = any(str(a).startswith("--dist") or str(a) == "-d" for a in config.invocation_params.args)
    if getattr(config.option, "numprocesses", None) and not explicit_dist:
        config.option.dist = "loadscope"  # whole runtimes per worker (RuntimeScheduling), steps in order


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "boot_step(name): a Platform Boot step of the e2e suite")
    if not suite_selected(config) and not is_worker(config):
        return
    if is_worker(config) and "e2e" not in config.workerinput:  # type: ignore[attr-defined]
        return
    try:
        settings = resolve_settings(raw_values(config.getoption), run_id=_default_run_id())
    except UsageError as exc:
        pytest.exit(f"e2e: {exc}", returncode=2)  # pytest prints it as one line on stderr
    if is_worker(config):
        shared = config.workerinput["e2e"]  # type: ignore[attr-defined]
        atexit.register(_exit_without_finalization)  # registered early, so it runs after later atexit handlers
        settings = replace(settings, target=type(settings.target).from_json(shared["target"]),
                           run_id=shared["run_id"], expected_sha=shared.get("expected_sha"))
        started = datetime.fromisoformat(shared["started"])
        redactor = Redactor(settings.secrets())
        log = RunLog(settings.reports_dir, redactor, echo=None)
        state = SuiteState(settings, log, started)
        state.target_error = shared.get("target_error")
    else:
        started = datetime.now(timezone.utc)
        redactor = Redactor(settings.secrets())
        distributed = bool(getattr(config.option, "numprocesses", None))
        log = RunLog(settings.reports_dir, redactor, echo=None if distributed else _echo(config))
        state = SuiteState(settings, log, started)
    config.stash[STATE_KEY] = state
    if not is_worker(config) and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(), "e2e-xdist-hooks")
    if not is_worker(config) and settings.target.is_local and not config.option.collectonly:
        _install_sigterm()           # from now on a SIGTERM still reaches session finish, which stops the tenant
        _launch_local_tenant(state)  # boots while the session (and xdist's workers) start; READY awaited later


def _exit_without_finalization() -> None:
    """A worker's last act: its results went to the controller over xdist's channel and every file it wrote is
    closed, so it skips the interpreter's module teardown (~40 ms of CPU per worker while the controller
    waits for all of them to exit)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _default_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%H%M%S")


def _echo(config: pytest.Config):  # noqa: ANN202
    capman = config.pluginmanager.getplugin("capturemanager")

    def write(line: str) -> None:
        # The terminal reporter starts a fresh line first, so log lines never glue onto pytest's progress dots.
        reporter = config.pluginmanager.getplugin("terminalreporter")
        writer = getattr(reporter, "_tw", None)
        if writer is not None and writer.width_of_current_line:
            writer.line()
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def echo(line: str) -> None:
        if capman is not None:
            with capman.global_and_fixture_disabled():
                write(line)
        else:
            write(line)

    return echo


class XdistHooks:
    """Registered only with xdist: hands the resolved target to each worker, schedules by runtime, and
    finishes the target (safety net, tenant stop) as soon as the last worker is cleanly down."""

    def __init__(self) -> None:
        self.nodes_up = 0
        self.nodes_down = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getoption("dist") not in ("loadscope", "loadgroup"):
            return None
        return runtime_scheduling(config, log)

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.nodes_down += 1
        state = node.config.stash.get(STATE_KEY, None)
        if state is not None and error is None and self.nodes_down == self.nodes_up:
            finish_target(state)  # every worker's teardown and ledger entries are done

    @pytest.hookimpl
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: Any) -> None:  # noqa: ARG002
        config.invocation_params = worker_invocation(config.invocation_params)

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        state = node.config.stash.get(STATE_KEY, None)
        if state is None:
            return
        _await_local_tenant(state)  # workers need the tenant's URLs and token
        self.nodes_up += 1
        node.workerinput["e2e"] = {"target": state.settings.target.to_json(), "run_id": state.settings.run_id,
                                   "expected_sha": state.settings.expected_sha,
                                   "started": state.started.isoformat(), "target_error": state.target_error}


def worker_invocation(params: pytest.Config.InvocationParams) -> pytest.Config.InvocationParams:
    """The controller's invocation with `-p no:NAME` for WORKER_UNUSED_PLUGINS and `--assert=plain` (xdist hands
    these args to every worker). Whatever the command line already says about a plugin or --assert is kept."""
    args = [str(a) for a in params.args]
    text = " ".join(args)
    extra: list[str] = []
    for name in WORKER_UNUSED_PLUGINS:
        if name.replace("pytest", "") in text:
            continue
        extra += ["-p", f"no:{name}"]
    if "--assert" not in text:
        # The suite checks with pytest.fail/StepFailed, never a bare `assert`, so rewriting buys nothing here;
        # without a bytecode cache it re-parses every rewritten module (~60 ms of each worker's start-up).
        extra.append("--assert=plain")
    if not extra:
        return params
    return pytest.Config.InvocationParams(args=[*extra, *args], plugins=params.plugins, dir=params.dir)


def runtime_scheduling(config: pytest.Config, log: Any) -> Any:
    """xdist LoadScope scheduling whose scope is the runtime parameter: one runtime = one work unit.

    (xdist's `loadgroup` cannot be used: it renames `item._nodeid`, which pytest >= 9 ignores.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class RuntimeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            match = re.search(r"\[([^\[\]]+)\]$", nodeid)
            return f"runtime:{match.group(1)}" if match else nodeid.rsplit("::", 1)[0]

    return RuntimeScheduling(config, log)


def _state(config: pytest.Config) -> SuiteState | None:
    return config.stash.get(STATE_KEY, None)


# ---------------------------------------------------------------------- session (controller)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    state = _state(session.config)
    if state is None or is_worker(session.config):
        return
    settings, log = state.settings, state.log
    _install_sigterm()
    log.start(state.started, settings.run_id, settings.target.kind)
    ledger.reset(settings.reports_dir)
    if getattr(session.config.option, "numprocesses", None):
        state.follower = Follower(log.run_log, sys.stdout)
        state.follower.start()
    if state.launch is not None:
        _log_tenant_start(state)
        if not getattr(session.config.option, "numprocesses", None):
            _await_local_tenant(state)   # with xdist: awaited when the first worker is configured
    if settings.sweep_stale_hours and state.settings.target.cp_url and not state.target_error:
        try:
            sweep_stale(state)
        except Exception as exc:  # noqa: BLE001 - a sweep problem must not stop the boot
            log.warn(f"stale-org sweep failed: {type(exc).__name__}: {exc}")


def _install_sigterm() -> None:
    def handler(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt("SIGTERM")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _launch_local_tenant(state: SuiteState) -> None:
    settings, target = state.settings, state.settings.target
    server_log = settings.reports_dir / "tenant-server.log"
    state_dir = settings.reports_dir / ".tenant-state"
    try:
        server_log.unlink(missing_ok=True)
        state.launch = local_tenant.launch(target.faults, target.check_mode, server_log, state_dir)
        state.launch_started = time.monotonic()
    except OSError as exc:
        state.target_error = f"local tenant did not start: {exc}"


def _log_tenant_start(state: SuiteState) -> None:
    target = state.settings.target
    flags = " ".join(f"--fault {f}" for f in target.faults) + (f" --check-mode {target.check_mode}" if target.check_mode else "")
    state.log.log(f"Starting the local tenant (python -m fixtures.tenant {flags.strip()})...".replace(" )", ")"))


def _await_local_tenant(state: SuiteState) -> None:
    """Wait for the launched tenant's READY line once; then the target carries its URLs and token."""
    launch, state.launch = state.launch, None
    if launch is None:
        return
    settings, log = state.settings, state.log
    target = settings.target
    try:
        tenant = launch.wait_ready(started=state.launch_started)
    except local_tenant.TenantStartError as exc:
        if exc.bad_options:  # the tenant refused what the suite passed on: a usage error of the suite, exit 2
            message = bad_tenant_option(exc.last_line)
            log.fail(f"local tenant refused its options: {message}")
            pytest.exit(f"e2e: {message}", returncode=2)  # before any test: no junit/allure/RCA is written
        state.target_error = f"local tenant did not start: {exc}"
        log.fail(state.target_error)
        return
    ready = tenant.ready
    state.tenant = tenant
    state.server_log = Path(ready.get("server_log") or settings.reports_dir / "tenant-server.log")
    log.redactor.add(ready.get("admin_token"))
    new_target = replace(target, cp_url=ready.get("cp_url"), admin_token=ready.get("admin_token"),
                         tenant_url=ready.get("tenant_url"), server_log=str(state.server_log),
                         published_sha=ready.get("published_sha"),
                         faults=tuple(ready.get("faults") or target.faults),
                         check_mode=ready.get("check_mode") or target.check_mode)
    expected = settings.expected_sha or ready.get("published_sha")
    state.settings = replace(settings, target=new_target, expected_sha=expected)
    log.ok(f"Local tenant ready (pid={tenant.pid}, cp={ready.get('cp_url')}, tenant={ready.get('tenant_url')}, "
           f"check_mode={new_target.check_mode}, faults={','.join(new_target.faults) or 'none'}, "
           f"published_sha={str(ready.get('published_sha'))[:8]})")


def bad_tenant_option(tenant_line: str) -> str:
    """The tenant's one-line option error, named after the suite option it came from (only --fault and
    --check-mode reach the tenant)."""
    reason = tenant_line.partition("molecule-local-tenant: ")[2] or tenant_line or "rejected its options"
    option = "--fault" if "fault" in reason else "--check-mode" if "check-mode" in reason else "--fault/--check-mode"
    return f"{option}: {reason}"


def sweep_stale(state: SuiteState) -> None:
    settings, log = state.settings, state.log
    hours = settings.sweep_stale_hours or 0
    target = settings.target
    cp = ControlPlane(target.cp_url or "", target.admin_token or "", log, settings.budgets.http_request)
    try:
        log.log(f"Sweeping stale e2e-* orgs older than {hours:g}h...")
        listing = cp.list_orgs()
        if not listing.ok:
            log.log(f"    sweep skipped: list orgs returned {listing.describe()}")
            return
        now = datetime.now(timezone.utc)
        for org in listing.field("orgs") or []:
            slug = str(org.get("slug") or "")
            created = _parse_time(org.get("created_at"))
            if not slug.startswith("e2e-") or created is None:
                continue
            age_h = (now - created).total_seconds() / 3600
            if age_h >= hours:
                log.log(f"    stale org {slug} (age {age_h:.1f}h)")
                delete_org(cp, slug, log, settings.pace, settings.budgets.leak_check)
    finally:
        cp.close()


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state is None:
        return
    if is_worker(session.config):
        _close_boots(state)
        return
    settings, log = state.settings, state.log
    _close_boots(state)
    if state.launch is not None:  # launched but never awaited (e.g. interrupted before the first worker)
        state.launch.stop()
        state.launch = None
    if not finish_target(state):
        session.exitstatus = 4
    if state.tenant is not None:
        state.tenant.stop()
        log.ok("Local tenant stopped")
    leaks = ledger.leaks(ledger.read(settings.reports_dir))
    if leaks:
        for leak in leaks:
            log.fail(f"{leak.get('message') or 'LEAK: ' + leak['ident']} — teardown left it behind (exit 4)")
        session.exitstatus = 4
    failed = session.exitstatus not in (0, pytest.ExitCode.NO_TESTS_COLLECTED) or bool(state.target_error)
    if failed:
        paths = [log.run_log] + ([state.server_log] if state.server_log else [])
        written, note = render_rca(paths, settings.reports_dir, log.redactor, settings.secrets())
        if written:
            log.log(f"RCA written: {', '.join(str(p) for p in written)}")
            summary = _rca_summary(settings.reports_dir / "rca.json")
            if summary:
                log.log(summary)
        if note:
            log.log(f"RCA not complete: {note}")
    _write_allure_extras(session.config, settings)
    if state.follower is not None:
        state.follower.stop()


def _rca_summary(path: Path) -> str | None:
    """One line for the terminal: what forensics concluded (the full story is in rca.md)."""
    try:
        rca = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    primary, step = rca.get("primary"), rca.get("failed_step") or "?"
    if primary in (None, "unknown"):
        return f"RCA: failed at {step}; cause outside the five known classes (unknown) — see {path.with_suffix('.md')}"
    return f"RCA: {primary} PINNED (failed step {step}) — see {path.with_suffix('.md')}"


def finish_target(state: SuiteState) -> bool:
    """Once: the safety-net teardown (unless --keep), then ask the local tenant to stop (session finish waits
    for it). False if the safety net failed.

    Runs when the last xdist worker is down (the tenant then stops while the workers exit) or else at session
    finish; an interrupted attempt is retried at session finish."""
    if state.target_finished is not None:
        return state.target_finished
    settings, log = state.settings, state.log
    ok = True
    try:
        if not settings.keep:
            safety_net(state)
    except Exception as exc:  # noqa: BLE001 - report, then still stop the tenant and write reports
        log.fail(f"Safety-net teardown failed: {type(exc).__name__}: {exc}")
        ok = False
    finally:
        if state.tenant is not None:
            log.log(f"Stopping the local tenant (pid={state.tenant.pid})...")
            state.tenant.request_stop()
    state.target_finished = ok
    return ok


def pytest_unconfigure(config: pytest.Config) -> None:
    """Last guard: a tenant launched in pytest_configure never outlives the process (idempotent stop)."""
    state = _state(config)
    if state is None or is_worker(config):
        return
    for tenant in (state.launch, state.tenant):
        if tenant is not None:
            tenant.stop()


def _close_boots(state: SuiteState) -> None:
    for boot in state.boots.values():
        boot.close()


def safety_net(state: SuiteState) -> None:
    """Delete whatever the ledger says was created and not deleted (e.g. after Ctrl-C in a worker)."""
    settings, log = state.settings, state.log
    left = ledger.outstanding(ledger.read(settings.reports_dir))
    target = settings.target
    for res in left:
        if res.kind == "workspace" and target.kind != "existing":
            continue  # inside an org of this run: the org delete removes it
        log.log(f"Safety-net teardown: {res.ident}")
        leak: str | None = None
        if res.kind == "org" and target.cp_url and target.admin_token:
            cp = ControlPlane(target.cp_url, target.admin_token, log, settings.budgets.http_request)
            try:
                leak = delete_org(cp, res.ident, log, settings.pace, settings.budgets.leak_check)
            finally:
                cp.close()
        elif res.kind == "workspace":
            tenant = Tenant(res.tenant_url or target.tenant_url or "", res.org_id or target.org_id,
                            target.tenant_token, log, settings.budgets.http_request)
            try:
                leak = delete_workspace(tenant, res.ident, log, settings.pace, settings.budgets.leak_check)
            finally:
                tenant.close()
        ledger.record(settings.reports_dir, "leak" if leak else "deleted", res, **({"message": leak} if leak else {}))


def _write_allure_extras(config: pytest.Config, settings: Settings) -> None:
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not alluredir:
        return
    path = Path(alluredir)
    write_atomic(path / "categories.json", json.dumps(CATEGORIES, indent=2) + "\n")
    target = settings.target
    env = {"target": target.kind, "cp_url": target.cp_url or "", "tenant_url": target.tenant_url or "",
           "runtimes": ",".join(settings.runtimes), "faults": ",".join(target.faults),
           "check_mode": target.check_mode or "", "expected_sha": settings.expected_sha or ""}
    write_atomic(path / "environment.properties", "".join(f"{k}={v}\n" for k, v in env.items()))


class Follower:
    """Controller-side tail of run.log, so worker lines reach stdout under xdist."""

    def __init__(self, path: Path, out: Any) -> None:
        self.path = path
        self.out = out
        self.offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-runlog-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _pump(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        cut = data.rfind(b"\n") + 1
        if cut:
            self.offset += cut
            self.out.write(data[:cut].decode("utf-8", "replace"))
            self.out.flush()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._pump()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._pump()


# ---------------------------------------------------------------------- collection (workers)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" not in metafunc.fixturenames or not _in_suite(Path(str(metafunc.definition.path))):
        return
    state = _state(metafunc.config)
    runtimes = state.settings.runtimes if state else ()
    metafunc.parametrize("runtime", list(runtimes), scope="class", ids=list(runtimes))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        runtime = callspec.params.get("runtime") if callspec else None
        if runtime and item.get_closest_marker("boot_step"):
            item.add_marker(pytest.mark.xdist_group(name=f"runtime-{runtime}"))


@pytest.fixture(scope="class")
def boot(request: pytest.FixtureRequest, runtime: str) -> Any:
    """One runtime's Boot; its finalizer is the teardown (always runs, unless --keep)."""
    state = _state(request.config)
    if state is None:
        pytest.fail("the e2e suite was not configured (run it as: python -m pytest e2e)", pytrace=False)
    boot = Boot(settings=state.settings, runtime=runtime, log=state.log.bind(runtime),
                target_error=state.target_error)
    state.boots[runtime] = boot
    yield boot
    boot.log.step = "teardown"
    try:
        leaks = boot.teardown()
    finally:
        boot.close()
    if leaks:
        pytest.fail("; ".join(leaks) + " (harness exit 4)", pytrace=False)


def run_step(boot: Boot, step: str) -> None:
    """Run one step: skip when an earlier step failed; a failure blocks the later steps."""
    if boot.failed_step:
        pytest.skip(f"blocked by {boot.failed_step}")
    boot.log.step = step
    failure: StepFailed | None = None
    try:
        if boot.target_error:
            raise boot.fail(boot.target_error, infra=True)
        getattr(boot, step.replace("-", "_"))()
    except StepFailed as exc:
        boot.failed_step = step
        failure = exc
    except (Exception, KeyboardInterrupt) as exc:
        boot.failed_step = step
        if not isinstance(exc, KeyboardInterrupt):
            boot.log.fail(f"{step}: suite error {type(exc).__name__}: {exc}")
        raise
    finally:
        boot.log.event("step", f"{step} {'failed' if boot.failed_step == step else 'passed'}",
                       result="failed" if boot.failed_step == step else "passed")
    if failure is not None:
        pytest.fail(("[infra] " if failure.infra else "") + str(failure), pytrace=False)
    boot.done.add(step)
