"""`forensics analyze FILE... [--format md|html|json] [--out PATH] [--signatures FILE]`."""

from __future__ import annotations

import argparse
import sys

from forensics.cli import UserError
from forensics.commands import deploy_options
from forensics.output import write_atomic
from forensics.render import FORMATS, render
from forensics.signatures import SignatureError
from forensics.sources import UnreadableInput


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse runner / platform / deploy logs and print the RCA",
        description=(
            "Read one or more logs (plain, .gz, a Gitea run-logs .zip, or - for stdin), build one "
            "timeline, weigh the five hypotheses and print the RCA. Exit 0 when an analysis was "
            "produced (whatever the verdict), 2 when an input cannot be read."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="log file(s); - reads stdin")
    p.add_argument("--format", choices=FORMATS, default="md", help="output format (default: md)")
    p.add_argument("--out", metavar="PATH", help="write the report here (atomically) instead of stdout")
    p.add_argument(
        "--signatures", action="append", default=[], metavar="FILE",
        help="extra signature TOML file (repeatable; also env FORENSICS_SIGNATURES)",
    )
    # --- deploy lag & recurrence (issue 6): --repo-path --gitea-compare --history-db --no-history --run-id
    deploy_options.add_arguments(p)
    # --- end issue 6
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from forensics.analyze import analyze

    if args.files.count("-") > 1:
        raise UserError("stdin (-) can be given only once")
    try:
        analysis = analyze(args.files, args.signatures)
    except UnreadableInput as exc:
        raise UserError(str(exc)) from None
    except SignatureError as exc:
        raise UserError(str(exc)) from None
    # --- deploy lag & recurrence (issue 6): known issues, deployed-build check, history
    analysis = deploy_options.apply(analysis, args)
    # --- end issue 6
    try:
        text = render(analysis, args.format)
    except NotImplementedError as exc:
        raise UserError(f"--format {args.format} is not available yet ({exc})") from None
    if args.out:
        try:
            write_atomic(args.out, text)
        except OSError as exc:
            raise UserError(f"cannot write {args.out!r}: {exc.strerror or exc}") from None
    else:
        sys.stdout.buffer.write(text.encode("utf-8", errors="replace"))
        sys.stdout.flush()
    return 0
