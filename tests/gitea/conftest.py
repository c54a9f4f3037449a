"""Fixtures: a fresh fake Gitea per test (asserted to have seen no contract violation) and
a runner for the real `forensics` CLI as a subprocess."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from forensics import cli
from tests.gitea.fake_gitea import FakeGitea

ROOT = Path(__file__).resolve().parents[2]


def _cli_command() -> list[str]:
    """`python -m forensics`, the real entry point. While a teammate's command module is not in the
    tree yet, the same `forensics.cli.main` runs with only the importable modules registered."""
    if all(importlib.util.find_spec(m) is not None for m in cli.COMMAND_MODULES):
        return [sys.executable, "-m", "forensics"]
    launcher = (
        "import importlib.util, sys; from forensics import cli; "
        "cli.COMMAND_MODULES = tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(m)); "
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", launcher]


CLI = _cli_command()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def fake() -> Iterator[FakeGitea]:
    with FakeGitea() as server:
        yield server
    assert server.violations == [], "requests broke the Swagger subset:\n" + "\n".join(server.violations)


@pytest.fixture
def gitea_env(fake: FakeGitea) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITEA_"))}
    env.update(GITEA_URL=fake.url, GITEA_TOKEN=fake.token, PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def run_cli(gitea_env: dict[str, str], tmp_path: Path):
    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        proc = subprocess.run(
            [*CLI, *args], cwd=tmp_path, env=env if env is not None else gitea_env, input=stdin,
            capture_output=True, text=True, timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def call_cli(fake: FakeGitea, gitea_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """The same `forensics.cli.main` in this process (happy paths; error paths use `run_cli`)."""
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "GITEA_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GITEA_URL", fake.url)
    monkeypatch.setenv("GITEA_TOKEN", fake.token)
    monkeypatch.chdir(tmp_path)
    if CLI[1] == "-c":   # a teammate's command module is not in the tree yet (see _cli_command)
        monkeypatch.setattr(cli, "COMMAND_MODULES",
                            tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(m)))

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call
