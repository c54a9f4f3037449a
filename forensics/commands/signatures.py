"""`forensics signatures [--grep | --json] [--signatures FILE]`: list the catalogue."""

from __future__ import annotations

import argparse
import json
import sys

from forensics.cli import UserError
from forensics.signatures import SignatureError, grep_patterns, load_signatures, user_signature_files


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "signatures",
        help="list the signatures (table), or print them as grep -E patterns / JSON",
        description="List every loaded signature: the shipped data files plus --signatures / FORENSICS_SIGNATURES.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--grep", action="store_true", help="print the patterns, one per line, for grep -E -f")
    mode.add_argument("--json", action="store_true", help="print the signatures as a JSON array")
    p.add_argument("--signatures", action="append", default=[], metavar="FILE", help="extra signature TOML file (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sigs = load_signatures(user_signature_files(args.signatures))
    except SignatureError as exc:
        raise UserError(str(exc)) from None
    if args.grep:
        out = "\n".join(grep_patterns(sigs)) + "\n"
    elif args.json:
        out = json.dumps([s.to_dict() for s in sigs], ensure_ascii=False, indent=2) + "\n"
    else:
        out = table(sigs)
    sys.stdout.buffer.write(out.encode("utf-8", errors="replace"))
    sys.stdout.flush()
    return 0


def table(sigs: list) -> str:
    rows = [("ID", "HYPOTHESIS", "DIR", "STR", "STEP", "KIND", "PATTERN")]
    for s in sigs:
        rows.append((s.id, s.hypothesis or "-", s.direction if s.hypothesis else "-", str(s.strength), s.step or "-", s.kind, s.pattern))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(6)) + "  " + r[6] for r in rows]
    return "\n".join(lines) + f"\n\n{len(sigs)} signatures\n"
