"""`forensics` command line: one subcommand per module under forensics.commands.

Invariant: every failure the user can cause ends as one line on stderr and a
non-zero exit (2 for bad input/usage), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from forensics import __version__

# Each module exposes `register(subparsers)`; the parser it adds sets `func=run(args) -> int`.
COMMAND_MODULES: tuple[str, ...] = (
    "forensics.commands.analyze",
    "forensics.commands.signatures",
    "forensics.commands.history",
    "forensics.commands.gitea",
)


class UserError(Exception):
    """A problem the user can fix (bad path, bad option). Message is one line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus a hint), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="forensics",
        description=(
            "Read Platform Boot runner logs (plus platform-server and deploy-workflow logs), "
            "build one timeline, weigh five hypotheses (llm-401, cold-boot-crash, cpu-exhaustion, "
            "destructive-restart, deploy-lag) and render the RCA as markdown, HTML or JSON."
        ),
        epilog="Example: forensics analyze runner.log platform.log --format md --out rca.md",
    )
    parser.add_argument("--version", action="version", version=f"forensics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"forensics: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("forensics: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: never a traceback on the user's terminal
        from forensics.redact import redact

        print(f"forensics: internal error: {type(exc).__name__}: {redact(str(exc)).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
