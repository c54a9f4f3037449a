"""Throughput of `forensics analyze` against GNU grep on the same large runner log (issue 7).

For each size: generate (once, cached under benchmarks/.cache/) a realistic runner log with the
seed's destructive-restart incident buried in it, then time — `--runs` times each, median kept —

  grep       grep -c -E -f PATTERNS FILE        PATTERNS = `forensics signatures --grep`, written once
  hyperscan  FORENSICS_MATCHER=hyperscan python -m forensics analyze FILE --format json
  python     FORENSICS_MATCHER=python    python -m forensics analyze FILE --format json

and print wall times, the ratio to grep, the peak RSS of forensics (largest single process, from
wait4's rusage, and the whole process tree sampled from /proc), and the verdict each run gave
(outcome / primary / failed_step), which must be the same on every path and at every size.
Nothing is asserted about time: this prints.

Usage: python benchmarks/forensics_throughput.py [--size 1G,100M] [--runs 3] [--no-python]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
sys.path.insert(0, str(HERE))

from gen_runner_log import VERSION, generate, parse_size  # noqa: E402


@dataclass
class Run:
    wall: float
    max_rss_mb: float          # largest single process (wait4 rusage: the process or a worker)
    tree_rss_mb: float         # peak of the summed RSS of the process and its children (/proc)
    verdict: tuple[str, str, str] | None = None


@dataclass
class Row:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)


def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of pid and its descendants (Linux /proc)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None, stdout_path: Path | None = None) -> Run:
    """Wall time and memory of one command; stdout to a file (or /dev/null)."""
    out = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")
    err = tempfile.TemporaryFile()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace")
    finally:
        out.close()
        err.close()
    if code not in (0, 1):  # grep -c exits 1 when nothing matched
        raise SystemExit(f"benchmark: {' '.join(cmd[:4])}... exited {code}: {message.strip()[:300]}")
    return Run(wall=wall, max_rss_mb=usage.ru_maxrss / 1024, tree_rss_mb=max(peak, usage.ru_maxrss) / 1024)


def verdict_of(path: Path) -> tuple[str, str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return (str(data.get("outcome")), str(data.get("primary")), str(data.get("failed_step")))


def log_for(size: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"runner-v{VERSION}-{size}.log"
    if not path.exists():
        print(f"generating {path.name} ({size / 2**20:.0f} MiB) ...", file=sys.stderr, flush=True)
        generate(path, size)
    return path


def bench_size(size: int, runs: int, python_runs: int, patterns: Path, python: str, with_locale_grep: bool = False) -> dict[str, Row]:
    """Runs interleaved (grep, forensics, grep, ...) so that machine load hits both alike."""
    log = log_for(size)
    grep = shutil.which("grep") or "grep"
    # the reference is grep at its fastest (byte locale); the user's UTF-8 locale is shown too
    rows = {"grep": Row("grep -c -E -f (LC_ALL=C)")}
    if with_locale_grep:
        rows["grep-locale"] = Row(f"grep ({os.environ.get('LC_ALL') or os.environ.get('LANG') or 'default locale'})")
    rows["hyperscan"] = Row("forensics (hyperscan)")
    if python_runs:
        rows["python"] = Row("forensics (pure Python)")
    c_locale = dict(os.environ, LC_ALL="C")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(max(runs, python_runs)):
            if i < runs:
                rows["grep"].runs.append(measure([grep, "-c", "-E", "-f", str(patterns), str(log)], env=c_locale))
            if with_locale_grep and i == 0:
                rows["grep-locale"].runs.append(measure([grep, "-c", "-E", "-f", str(patterns), str(log)]))
            for engine, n in (("hyperscan", runs), ("python", python_runs)):
                if i >= n:
                    continue
                env = dict(os.environ, FORENSICS_MATCHER=engine)
                out = Path(tmp) / f"{engine}-{i}.json"
                run = measure([python, "-m", "forensics", "analyze", str(log), "--format", "json"], env=env, stdout_path=out)
                run.verdict = verdict_of(out)
                rows[engine].runs.append(run)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G,100M", help="comma-separated sizes (default 1G,100M)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command; the median is reported")
    parser.add_argument("--no-python", action="store_true", help="skip the pure-Python path (slow)")
    parser.add_argument("--python-runs", type=int, default=1, help="runs of the pure-Python path (default 1)")
    parser.add_argument("--locale-grep", action="store_true", help="also time grep in the current (UTF-8) locale once")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.size.split(",") if s.strip()]
    python = sys.executable
    patterns_text = subprocess.run([python, "-m", "forensics", "signatures", "--grep"], cwd=ROOT, check=True, capture_output=True).stdout
    with tempfile.NamedTemporaryFile("wb", suffix=".grep", delete=False) as fh:
        fh.write(patterns_text)
        patterns = Path(fh.name)
    cores = os.cpu_count() or 1
    warm = CACHE / "warm-up.log"   # builds the hyperscan database cache before anything is timed
    CACHE.mkdir(parents=True, exist_ok=True)
    warm.write_text("2026-06-15T08:33:46.0000000Z [08:33:46] warm-up\n")
    subprocess.run([python, "-m", "forensics", "analyze", str(warm), "--format", "json"], cwd=ROOT, env=dict(os.environ, FORENSICS_MATCHER="hyperscan"), capture_output=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# forensics throughput — {cores} cores (load average {load:.1f} at start), {len(patterns_text.splitlines())} grep patterns, median of {args.runs} runs (pure-Python path: {args.python_runs})")
    verdicts: set[tuple[str, str, str]] = set()
    try:
        for size in sizes:
            rows = bench_size(size, args.runs, 0 if args.no_python else args.python_runs, patterns, python, with_locale_grep=args.locale_grep)
            grep_wall = rows["grep"].wall
            print(f"\n## {size / 2**20:.0f} MiB  ({log_for(size).name})")
            print(f"{'command':26} {'wall s':>8} {'x grep':>7} {'MB/s':>6} {'max RSS MB':>11} {'tree RSS MB':>12}  verdict")
            for key, row in rows.items():
                rss = max(r.max_rss_mb for r in row.runs)
                tree = max(r.tree_rss_mb for r in row.runs)
                ratio = row.wall / grep_wall if grep_wall else float("nan")
                v = {r.verdict for r in row.runs if r.verdict}
                verdicts |= v
                shown = "; ".join("/".join(x) for x in sorted(v)) if v else "-"
                walls = ", ".join(f"{r.wall:.2f}" for r in row.runs)
                rate = size / 2**20 / row.wall if row.wall else float("nan")
                print(f"{row.name:26} {row.wall:8.2f} {ratio:7.2f} {rate:6.0f} {rss:11.0f} {tree:12.0f}  {shown}   (runs: {walls})")
    finally:
        patterns.unlink(missing_ok=True)
    print(f"\nverdicts seen: {len(verdicts)} distinct -> {'SAME on every path and size' if len(verdicts) == 1 else 'DIFFERENT: ' + repr(sorted(verdicts))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
