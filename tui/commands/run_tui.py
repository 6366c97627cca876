"""`tunewise tui [DATA]` (also plain `tunewise`): the interactive app."""

from __future__ import annotations

import argparse

from tui.commands.common import add_data_arguments, data_spec
from tui.commands.document_flags import add_document_arguments, document_flags
from tui.commands.lm_flags import add_lm_arguments, lm_choice, served_from
from tui.commands.seed_flags import add_seeds_argument
from tunewise.errors import InterruptionError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tui", help="open the interactive app (the default command)", description="Open the interactive app."
    )
    add_data_arguments(parser)
    parser.set_defaults(data=None)  # demo, unless --docs names a built-in set with its own questions
    add_document_arguments(parser)
    add_lm_arguments(
        parser, "the model the advice and the prompted arms ask: a local one (default: smollm2-135m-instruct)"
    )
    add_seeds_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import threading

    from tui.app import TunewiseApp
    from tui.signals import graceful_stop

    documents = document_flags(args)
    served = served_from(args)  # before the app opens: one line for a wrong server, key or model
    app = TunewiseApp(data_spec(args), lm_choice(args), served, documents, seeds=args.seeds)
    stopped = threading.Event()

    def close() -> None:
        # Textual resumes its screen on SIGCONT, even once it has closed, and `timeout` or `kill`
        # send SIGCONT right after SIGTERM: the app is leaving, so suspend/resume means nothing now.
        for signum in (signal.SIGTSTP, signal.SIGCONT):
            signal.signal(signum, signal.SIG_DFL)
        try:
            loop = asyncio.get_running_loop()  # the handler runs on the app's thread, inside its loop
        except RuntimeError:  # not started yet, or already closed: nothing to close gracefully
            raise KeyboardInterrupt from None
        # Closing through the loop (not an exception through it) lets Textual restore the terminal.
        loop.call_soon_threadsafe(app.stop_and_close)

    with graceful_stop(stopped, close):
        app.run()
    if stopped.is_set():
        kept = (
            f"; {' and '.join(app.stopped_work)} stopped with a checkpoint and resumes from it"
            if app.stopped_work
            else ""
        )
        raise InterruptionError(f"the app was closed by a stop signal{kept}")
    return 0
