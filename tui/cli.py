"""The `tunewise` command line: parses arguments and calls the same functions the TUI calls.

Start-up must stay fast: this module imports only the standard library, and each command
imports what it needs when it runs. `tunewise --help` never loads torch.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn

from tui.commands import bundle as bundle_cmd
from tui.commands import compare as compare_cmd
from tui.commands import demo as demo_cmd
from tui.commands import estimate as estimate_cmd
from tui.commands import export as export_cmd
from tui.commands import generate as generate_cmd
from tui.commands import models as models_cmd
from tui.commands import predict as predict_cmd
from tui.commands import profile as profile_cmd
from tui.commands import rag as rag_cmd
from tui.commands import recommend as recommend_cmd
from tui.commands import run_tui as tui_cmd
from tui.commands import runs as runs_cmd
from tui.commands import train as train_cmd
from tui.commands import validate as validate_cmd
from tui.signals import ignore_stop_signals, stop_signals_interrupt
from tunewise import __version__
from tunewise.disk_space import NO_SPACE
from tunewise.errors import InterruptionError, TunewiseError
from tunewise.paths import check_home
from tunewise.threads import share_the_cores
from tunewise.trust import set_trust_remote_code

COMMANDS = (
    tui_cmd,
    demo_cmd,
    profile_cmd,
    recommend_cmd,
    estimate_cmd,
    rag_cmd,
    compare_cmd,
    runs_cmd,
    models_cmd,
    generate_cmd,
    train_cmd,
    predict_cmd,
    export_cmd,
    validate_cmd,
    bundle_cmd,
)


# Commands that never load a model, tokenizer or embedding model; every other one takes --trust-remote-code.
NO_MODEL_COMMANDS = frozenset({"estimate", "models list", "export", "validate", "bundle"})
TRUST_HELP = (
    "let model folders run the Python code they ship (their config's auto_map); without it, such folders are "
    "refused. Only for folders whose code you trust"
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
    parser.add_argument("--trust-remote-code", action="store_true", help=TRUST_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    for name, command_parser in command_parsers(parser):
        if name not in NO_MODEL_COMMANDS and not _has_subcommands(command_parser):
            # SUPPRESS: absent after the command, the flag keeps its value from before the command.
            command_parser.add_argument(
                "--trust-remote-code", action="store_true", default=argparse.SUPPRESS, help=TRUST_HELP
            )
    return parser


def command_parsers(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser with its full name ("train", "rag build"), nested ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                yield full, sub
                yield from command_parsers(sub, full)


def _has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tui"])
    set_trust_remote_code(args.trust_remote_code)  # the one place the policy is set, for every loader
    share_the_cores()  # before any command loads torch: threads that wait soon sleep, and leave the cores to others
    if not args.debug:
        quiet_libraries()
    with stop_signals_interrupt():  # around the handlers too: a second signal must not cut the message short
        try:
            check_home()
            return int(args.run(args) or 0)
        except TunewiseError as exc:
            if args.debug:
                raise
            kind = "interrupted" if isinstance(exc, InterruptionError) else "error"
            print(f"tunewise: {kind}: {one_line(exc.message)}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("tunewise: interrupted; anything half-written was removed", file=sys.stderr)
            return 130
        except OSError as exc:
            if args.debug:
                raise
            problem = storage_problem(exc)
            if problem is None:
                return _internal_error(exc)
            print(f"tunewise: error: {problem}", file=sys.stderr)
            return 2
        except Exception as exc:  # a bug: say so in one line, the traceback is one flag away
            if args.debug:
                raise
            return _internal_error(exc)


def run() -> NoReturn:
    """The `tunewise` program: `main`, then exit with its code (the console script and `python -m tui`).

    An interrupted command exits 130 without the interpreter's teardown. A stop signal can land in
    code CPython runs from a string (dataclasses builds each class's methods with `exec`, hundreds
    of times while torch imports), and CPython then remembers that KeyboardInterrupt as unhandled
    even though `main` handled it: at shutdown it would kill itself with SIGINT (exit -2) instead
    of returning 130. An import cut half-way can also leave a C++ extension that aborts in teardown.
    Every cleanup has already run on the way out of `main`; the exit handlers run here.
    """
    code = main()
    if code == InterruptionError.exit_code:
        ignore_stop_signals()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing left to flush into
                stream.flush()
        os._exit(code)
    sys.exit(code)


# Libraries that read their verbosity from the environment when they are imported (later, lazily).
_VERBOSITY_VARIABLES = ("TRANSFORMERS_VERBOSITY", "DATASETS_VERBOSITY", "HF_HUB_VERBOSITY")
# Libraries that give their loggers handlers of their own, so that the root's policy misses them.
_OWN_HANDLERS = ("transformers", "datasets", "huggingface_hub", "kernels", "bitsandbytes", "accelerate", "peft")
OUR_PACKAGES = r"(tunewise|advisor|harness|rag|hosted|compare|tui)(\.|$)"


class _Silence(logging.NullHandler):
    """The root logger's handler while libraries are quiet (a class of its own, so it is added once)."""


def quiet_libraries() -> None:
    """Keep libraries' chatter off the user's terminal: only tunewise's own lines reach stderr.

    Libraries log notes on import and load (a newer `kernels` names a hub repository it cannot
    check offline; bitsandbytes an optional kernel it cannot fetch) and warn about their own
    deprecations. Their failures still surface as exceptions, which tunewise turns into its own
    one-line errors; `--debug` leaves all of it on. A user's own setting of a library's verbosity
    variable wins.
    """
    for variable in _VERBOSITY_VARIABLES:
        os.environ.setdefault(variable, "error")
    root = logging.getLogger()
    if not any(isinstance(handler, _Silence) for handler in root.handlers):
        # With a handler at the root, Python's last-resort handler no longer prints records that
        # no library handler took.
        root.addHandler(_Silence())
    for name in _OWN_HANDLERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OUR_PACKAGES)


def one_line(text: str) -> str:
    """A message folded onto one line: the first line in full, the rest joined with semicolons."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    folded = "; ".join(lines)
    return folded if len(folded) <= 500 else folded[:500] + "... (rerun with --debug for all of it)"


def storage_problem(exc: OSError) -> str | None:
    """A one-line description of a file-system error the user can fix, or None if it is not one.

    An OSError that names a file (no permission, not a folder, no such file, disk full) is about
    the user's files or disk, not a bug in tunewise.
    """
    if exc.errno in NO_SPACE:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}the disk is full ({exc.strerror}); free some space and run the command again"
    if exc.filename is None:
        return None
    reason = exc.strerror or type(exc).__name__
    return f"{exc.filename}: {reason.lower()}; check the path and its permissions, then run the command again"


def _internal_error(exc: BaseException) -> int:
    print(
        f"tunewise: internal error: {type(exc).__name__}: {one_line(str(exc))} (rerun with --debug for the traceback)",
        file=sys.stderr,
    )
    return 1
