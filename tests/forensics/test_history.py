"""Run history: concurrent writers, recurrence sentence, `forensics history`."""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from forensics import history, recurrence
from forensics.cli import UserError
from forensics.commands import history as history_cmd
from forensics.model import Outcome, Verdict
from tests.forensics.deploy_helpers import analysis, ev, restart_analysis

ROWS_PER_WRITER = 300
T0 = datetime(2026, 6, 15, 8, 0, tzinfo=timezone.utc)


def _writer(db: str, name: str, rows: int) -> None:
    """One process: its own connection, one transaction per row (as parallel jobs would)."""
    with closing(history.connect(db)) as conn:
        for i in range(rows):
            history.record(conn, history.RunRow(
                run_id=f"{name}-{i}", run_at=T0 + timedelta(seconds=i), outcome="failed",
                primary="destructive-restart", classes=("destructive-restart", "deploy-lag"),
                failed_step="known-answer", signature=f"sig-{name}", deployed_sha="a962ea05",
            ))


def test_two_processes_writing_at_once_do_not_corrupt(tmp_path: Path) -> None:
    db = str(tmp_path / "reports" / "history.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, name, ROWS_PER_WRITER)) for name in ("xdist-gw0", "xdist-gw1")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2 * ROWS_PER_WRITER
        assert conn.execute("SELECT COUNT(DISTINCT run_id) FROM runs").fetchone()[0] == 2 * ROWS_PER_WRITER
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_run_recorded_twice_is_one_row(tmp_path: Path) -> None:
    with closing(history.connect(tmp_path / "h.sqlite")) as conn:
        row = history.RunRow("r1", T0, "failed", "deploy-lag", ("deploy-lag",), "preflight", "s", None)
        history.record(conn, row)
        history.record(conn, row)
        assert history.count(conn) == 1
        assert history.integrity_ok(conn)


def test_recurrence_sentence_and_markdown_notes(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    green = analysis([ev(1, "07:00:00", "step", "ok")], {}, None, outcome=Outcome.PASSED)
    recurrence.enrich(green, history_db=db, run_id="run-green", known=[])
    for n in range(3):
        other = analysis([ev(1, f"0{n + 1}:00:00", "x", "x")], {"cold-boot-crash": Verdict.PINNED}, "cold-boot-crash")
        recurrence.enrich(other, history_db=db, run_id=f"run-other-{n}", known=[])
    first = restart_analysis(None)
    first.timeline = [ev(4, "09:35:15", "a2a-restart-triggered", "container restart triggered", "destructive-restart")]
    recurrence.enrich(first, history_db=db, run_id="run-a", known=[])
    second = restart_analysis(None)
    second.timeline = [ev(4, "12:35:15", "a2a-restart-triggered", "container restart triggered", "destructive-restart")]
    recurrence.enrich(second, history_db=db, run_id="run-b", known=[])
    out = recurrence.enrich(restart_analysis(None), history_db=db, run_id="run-c", known=[])
    sentence = next(n for n in out.notes if n.startswith("this failure signature was seen in"))
    assert sentence == ("this failure signature was seen in 3 of the last 7 runs, first on 2026-06-15 09:35 UTC, "
                        "last green on 2026-06-15 07:00 UTC")
    assert out.context["history"]["seen"] == 3 and out.context["run_id"] == "run-c"
    # ... and it reaches the markdown the renderer prints (Analysis.notes).
    from forensics.render import render

    assert "seen in 3 of the last 7 runs" in render(out, "md")


def test_unwritable_history_is_a_note_not_a_crash(tmp_path: Path) -> None:
    out = recurrence.enrich(restart_analysis(None), history_db=tmp_path, known=[])
    assert any(n.startswith("history not recorded:") and "is a directory" in n for n in out.notes)


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"db": None, "limit": 20, "signature": None, "format": "table", **kw})


def test_history_command_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.sqlite"
    recurrence.enrich(restart_analysis("/buildinfo git_sha=a962ea05"), history_db=db, run_id="job-510217", known=[])
    assert history_cmd.run(_args(db=str(db))) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["run", "id", "run"]
    assert "job-510217" in table[2] and "destructive-restart" in table[2] and "a962ea05" in table[2]
    assert table[-1].startswith("1 of 1 recorded run(s)")
    with pytest.raises(UserError, match="no history database"):
        history_cmd.run(_args(db=str(tmp_path / "missing.sqlite")))



def test_history_cli_end_to_end(tmp_path: Path) -> None:
    """`python -m forensics history` as a user runs it (needs every registered command importable)."""
    db = tmp_path / "h.sqlite"
    recurrence.enrich(restart_analysis(None), history_db=db, run_id="job-1", known=[])
    done = subprocess.run([sys.executable, "-m", "forensics", "history", "--db", str(db), "--limit", "5"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "job-1" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "forensics", "history", "--db", str(tmp_path / "no.sqlite")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().startswith("forensics: error: no history database")


def test_analyze_options_history_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forensics.commands import deploy_options

    ns = argparse.Namespace
    monkeypatch.delenv(history.ENV_VAR, raising=False)
    assert deploy_options.history_path(ns(history_db=None, no_history=False)) is None  # off by default
    assert deploy_options.history_path(ns(history_db="a.sqlite", no_history=False)) == Path("a.sqlite")
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "env.sqlite"))
    assert deploy_options.history_path(ns(history_db=None, no_history=False)) == tmp_path / "env.sqlite"
    assert deploy_options.history_path(ns(history_db="a.sqlite", no_history=True)) is None
    parser = argparse.ArgumentParser()
    deploy_options.add_arguments(parser)
    assert parser.parse_args(["--history-db", "x.sqlite"]).history_db == "x.sqlite"
    with pytest.raises(UserError, match="is not a directory"):
        deploy_options.apply(restart_analysis(None), parser.parse_args(["--repo-path", str(tmp_path / "nope")]))
    with pytest.raises(UserError, match="is a directory"):
        deploy_options.apply(restart_analysis(None), parser.parse_args(["--history-db", str(tmp_path)]))
    out = deploy_options.apply(restart_analysis(None), parser.parse_args(["--run-id", "job-9"]))
    assert out.context["run_id"] == "job-9" and (tmp_path / "env.sqlite").exists()


def test_history_command_on_a_non_database_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all\n" * 100)
    with pytest.raises(UserError) as info:
        history_cmd.run(_args(db=str(junk)))
    assert "\n" not in str(info.value) and str(junk) in str(info.value)


def test_analyze_cli_records_history_and_uses_the_clone(tmp_path: Path) -> None:
    """`forensics analyze ... --history-db --run-id --repo-path` then `forensics history`, as a user runs them."""
    from tests.forensics.deploy_helpers import make_repo

    repo = make_repo(tmp_path)
    db = tmp_path / "reports" / "h.sqlite"
    log = Path(__file__).resolve().parents[2] / "fixtures/logs/deploy/recurrence/e2e-staging-platform-boot-510217.log"
    cmd = [sys.executable, "-m", "forensics", "analyze", str(log), "--format", "json",
           "--history-db", str(db), "--run-id", "510217", "--repo-path", str(repo.path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import json

    result = json.loads(done.stdout)
    assert result["context"]["history"]["seen"] == 1
    # a962ea05 is not in this clone: the answer falls back to time-only, and says why
    check = result["context"]["deploy_checks"][0]
    assert check["method"] == "time-only" and "not in the clone" in check["detail"]
    listed = subprocess.run([sys.executable, "-m", "forensics", "history", "--db", str(db)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "510217" in listed.stdout and "destructive-restart" in listed.stdout
    no = subprocess.run([*cmd[:-4], "--no-history", "--run-id", "other"], capture_output=True, text=True, timeout=60)
    assert no.returncode == 0 and "history" not in json.loads(no.stdout)["context"]
    bad = subprocess.run([*cmd[:7], "--repo-path", str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--repo-path" in bad.stderr
