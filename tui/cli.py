"""The `tunewise` command line: parses arguments and calls the same functions the TUI calls.

Start-up must stay fast: this module imports only the standard library, and each command
imports what it needs when it runs. `tunewise --help` never loads torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from advisor import __version__
from advisor.errors import TunewiseError
from tui.commands import estimate as estimate_cmd
from tui.commands import generate as generate_cmd
from tui.commands import models as models_cmd
from tui.commands import predict as predict_cmd
from tui.commands import profile as profile_cmd
from tui.commands import rag as rag_cmd
from tui.commands import recommend as recommend_cmd
from tui.commands import run_tui as tui_cmd
from tui.commands import train as train_cmd

COMMANDS = (
    tui_cmd,
    profile_cmd,
    recommend_cmd,
    estimate_cmd,
    rag_cmd,
    models_cmd,
    generate_cmd,
    train_cmd,
    predict_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunewise",
        description=(
            "Decide between prompting, RAG and fine-tuning with evidence, then run it. "
            "With no command, opens the interactive app on the built-in demo data."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tunewise {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tui"])
    try:
        return int(args.run(args) or 0)
    except TunewiseError as exc:
        if args.debug:
            raise
        print(f"tunewise: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tunewise: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, the traceback is one flag away
        if args.debug:
            raise
        print(
            f"tunewise: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
