"""Forensics at scale (issue 7): the verdict on a failure buried in a large, noisy runner log does
not depend on the matching engine or on the input size, and memory does not grow with the input.
Nothing here asserts a time (benchmarks/forensics_throughput.py prints those)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forensics import analyze, fastmatch

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("gen_runner_log", ROOT / "benchmarks" / "gen_runner_log.py")
gen_runner_log = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(gen_runner_log)  # type: ignore[union-attr]

MB = 1 << 20
ENGINES = ["python"] + (["hyperscan"] if fastmatch.hyperscan is not None else [])


def verdict(result: dict) -> dict:
    return {
        "outcome": result["outcome"],
        "primary": result["primary"],
        "failed_step": result["failed_step"],
        "verdicts": {h: a["verdict"] for h, a in result["hypotheses"].items()},
        "evidence": {h: [(e["line"], e["text"]) for e in a["evidence"]] for h, a in result["hypotheses"].items()},
    }


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("scale")
    return {
        "5M": gen_runner_log.generate(base / "runner-5M.log", 5 * MB),
        "50M": gen_runner_log.generate(base / "runner-50M.log", 50 * MB),
    }


def test_buried_failure_same_verdict_on_every_engine_and_size(logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fastmatch.ENV, "lines")          # the engine's own line-by-line reference
    reference = analyze.analyze([str(logs["5M"])]).to_dict()
    assert reference["outcome"] == "failed"
    assert reference["primary"] == "destructive-restart"
    assert reference["failed_step"] == "known-answer"
    assert reference["hypotheses"]["destructive-restart"]["verdict"] == "pinned"
    assert reference["hypotheses"]["cold-boot-crash"]["verdict"] == "ruled-out"
    assert reference["hypotheses"]["llm-401"]["verdict"] == "ruled-out"
    for engine in ENGINES:
        monkeypatch.setenv(fastmatch.ENV, engine)
        small = analyze.analyze([str(logs["5M"])]).to_dict()
        assert small == reference, engine                    # identical, not just the same verdict
        big = analyze.analyze([str(logs["50M"])]).to_dict()
        assert {k: v for k, v in verdict(big).items() if k != "evidence"} == {k: v for k, v in verdict(reference).items() if k != "evidence"}, engine
        # the incident's evidence lines are the same text, only further down the file
        assert [t for _, t in verdict(big)["evidence"]["destructive-restart"]] == [t for _, t in verdict(reference)["evidence"]["destructive-restart"]]


def test_memory_does_not_grow_with_input(tmp_path: Path) -> None:
    """A 10x larger input must not need (much) more memory: blocks, not lines, are held."""
    engine = "hyperscan" if fastmatch.hyperscan is not None else "python"
    small_size, big_size = (20 * MB, 200 * MB) if engine == "hyperscan" else (6 * MB, 60 * MB)
    small = gen_runner_log.generate(tmp_path / "small.log", small_size)
    big = gen_runner_log.generate(tmp_path / "big.log", big_size)
    rss_small = _measure(small, engine)
    rss_big = _measure(big, engine)
    big.unlink()
    assert rss_small > 0 and rss_big > 0
    assert rss_big <= rss_small * 1.5, (rss_small, rss_big)


def _measure(path: Path, engine: str) -> int:
    env = dict(os.environ, FORENSICS_MATCHER=engine, PYTHONPATH=str(ROOT))
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "forensics", "analyze", str(path), "--format", "json"],
                                stdout=sink, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return usage.ru_maxrss
