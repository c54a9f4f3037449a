"""Structural lint for .gitea/workflows/*.yml (runs everywhere, no binary needed).

Checks (each finding is one line "file: path: problem"):
- the JSON schema in workflow.schema.json (keys, types, triggers, dispatch inputs, steps with
  exactly one of run/uses, `with` only beside `uses`, action reference shape);
- cron fields: five fields, each value in its range;
- `needs` names existing jobs, without cycles; step ids unique within a job;
- every `${{` is closed by `}}` before the next `${{`, and no stray `}}`;
- `secrets.*` appear only in `env:` or `with:` values (never inline in `run`, `if`, names);
- `github.event.*` (attacker-controlled on PRs/issues) never inline in a `run` script;
- no job sets `continue-on-error` (a gate that cannot fail is no gate);
- Gitea 1.22 compatibility: upload/download-artifact at most @v3.
Not checked here (actionlint does it when installed): expression types and function names,
context availability per key, shell script bugs (shellcheck), runner labels.

Usage: python -m tests.gitea.workflow_lint FILE...
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA = json.loads(Path(__file__).with_name("workflow.schema.json").read_text(encoding="utf-8"))
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
MAX_ARTIFACT_MAJOR = 3


def load(path: Path) -> Any:
    """yaml.safe_load, undoing YAML 1.1's reading of the key `on` as boolean True."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and True in data:
        data["on"] = data.pop(True)
    return data


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))
    elif isinstance(node, str):
        yield path, node


def _cron_problems(expr: str) -> list[str]:
    fields = expr.split()
    if len(fields) != 5:
        return [f"cron {expr!r} must have 5 fields"]
    problems = []
    for field, (low, high) in zip(fields, CRON_RANGES):
        for part in field.split(","):
            base, _, step = part.partition("/")
            if step and not step.isdigit():
                problems.append(f"cron field {field!r}: bad step")
            if base == "*":
                continue
            for number in base.split("-"):
                if not number.isdigit() or not low <= int(number) <= high:
                    problems.append(f"cron field {field!r} out of range {low}-{high}")
    return problems


def lint_data(data: Any) -> list[str]:
    """All findings for one parsed workflow (empty list = clean)."""
    if not isinstance(data, dict):
        return ["<root>: a workflow must be a mapping"]
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(data)
    ]
    if problems:
        return problems
    on = data["on"]
    if isinstance(on, dict):
        for item in on.get("schedule") or []:
            problems += [f"on/schedule: {p}" for p in _cron_problems(item["cron"])]
    jobs: dict[str, Any] = data["jobs"]
    graph: dict[str, list[str]] = {}
    for job_id, job in jobs.items():
        needs = job.get("needs", [])
        graph[job_id] = [needs] if isinstance(needs, str) else list(needs)
        problems += [f"jobs/{job_id}/needs: unknown job {n!r}" for n in graph[job_id] if n not in jobs]
        if "continue-on-error" in job:
            problems.append(f"jobs/{job_id}: continue-on-error is not allowed on a gate job")
        ids = [s["id"] for s in job["steps"] if "id" in s]
        problems += [f"jobs/{job_id}: duplicate step id {i!r}" for i in {i for i in ids if ids.count(i) > 1}]
        for index, step in enumerate(job["steps"]):
            match = re.match(r"^actions/(upload|download)-artifact@v(\d+)", step.get("uses", ""))
            if match and int(match.group(2)) > MAX_ARTIFACT_MAJOR:
                problems.append(f"jobs/{job_id}/steps/{index}: {match.group(0)} needs a newer Gitea than 1.22; use @v3")
    problems += _cycles(graph)
    for path, text in _walk(data):
        where = "/".join(path)
        depth = 0
        for token in re.findall(r"\$\{\{|\}\}", text):
            depth += 1 if token == "${{" else -1
            if depth not in (0, 1):
                problems.append(f"{where}: unbalanced or nested ${{{{ }}}}")
                break
        else:
            if depth:
                problems.append(f"{where}: unclosed ${{{{")
        for expr in EXPR.findall(text):
            if re.search(r"\bsecrets\.", expr) and not ({"env", "with"} & set(path[-2:-1])):
                problems.append(f"{where}: secrets may only be referenced in env: or with: values")
            if path[-1] == "run" and re.search(r"\bgithub\.event\.", expr):
                problems.append(f"{where}: github.event.* inline in a run script (pass it through env:)")
    return problems


def _cycles(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        if state.get(node) == 1:
            return True
        if state.get(node) == 2 or node not in graph:
            return False
        state[node] = 1
        found = any(visit(n) for n in graph[node])
        state[node] = 2
        return found

    return ["jobs: needs form a cycle"] if any(visit(n) for n in graph) else []


def lint_file(path: Path) -> list[str]:
    try:
        data = load(path)
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML ({type(exc).__name__})"]
    return [f"{path}: {p}" for p in lint_data(data)]


def main(argv: list[str]) -> int:
    problems = [p for name in argv for p in lint_file(Path(name))]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
