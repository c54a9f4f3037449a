"""`forensics analyze` options for the deploy-lag / recurrence stage (issue 6), kept out of
commands/analyze.py so that file only needs two calls:

    deploy_options.add_arguments(parser)          # in register()
    analysis = deploy_options.apply(analysis, args)   # after analyze(), before render()

History recording is OFF unless asked for: `--history-db PATH` or env FORENSICS_HISTORY_DB;
`--no-history` always wins. (`forensics history` reads --db, the env, else
reports/forensics-history.sqlite.)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from forensics import history, recurrence
from forensics.cli import UserError
from forensics.deploy import GiteaRepo
from forensics.known_issues import KnownIssueError
from forensics.model import Analysis


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("deploy lag and recurrence")
    group.add_argument(
        "--repo-path", metavar="DIR",
        help="local git clone: is a known issue's fix commit an ancestor of the deployed /buildinfo SHA?",
    )
    group.add_argument(
        "--gitea-compare", action="store_true",
        help="ask Gitea's compare API instead (env GITEA_URL, GITEA_TOKEN; repo from the known issue)",
    )
    group.add_argument(
        "--history-db", default=None, metavar="PATH",
        help=f"record this run in a SQLite history (e.g. {history.DEFAULT_PATH}) and say how often "
             f"its failure recurs (also env {history.ENV_VAR}; off when neither is given)",
    )
    group.add_argument("--no-history", action="store_true", help="do not record, even if FORENSICS_HISTORY_DB is set")
    group.add_argument("--run-id", metavar="ID", help="run id to record (default: the job/run id found in the log)")


def history_path(args: argparse.Namespace) -> Path | None:
    """Where to record, or None: --no-history > --history-db > $FORENSICS_HISTORY_DB > off."""
    if getattr(args, "no_history", False):
        return None
    chosen = getattr(args, "history_db", None) or os.environ.get(history.ENV_VAR)
    return Path(chosen) if chosen else None


def apply(analysis: Analysis, args: argparse.Namespace) -> Analysis:
    """Run recurrence.enrich with the options given; bad option values -> UserError (one line)."""
    repo_path = getattr(args, "repo_path", None)
    if repo_path and not Path(repo_path).is_dir():
        raise UserError(f"--repo-path {repo_path!r} is not a directory")
    gitea = None
    if getattr(args, "gitea_compare", False):
        url, token = os.environ.get("GITEA_URL", ""), os.environ.get("GITEA_TOKEN", "")
        if not url:
            raise UserError("--gitea-compare needs GITEA_URL (and GITEA_TOKEN for a private repository)")
        gitea = GiteaRepo(url, token=token or None)
    db = history_path(args)
    if db is not None and db.is_dir():
        raise UserError(f"--history-db {str(db)!r} is a directory")
    try:
        return recurrence.enrich(
            analysis, repo_path=repo_path, gitea=gitea, history_db=db, run_id=getattr(args, "run_id", None)
        )
    except KnownIssueError as exc:
        raise UserError(str(exc).splitlines()[0]) from None
