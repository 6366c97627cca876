"""Stopping from outside: Ctrl-C (SIGINT) and SIGTERM end a command the same clean way.

A `kill PID`, a CI time-out or a container stop sends SIGTERM, which would otherwise end the
process on the spot, skipping every cleanup: temporary folders, lock files, half-written
checkpoints. Both signals therefore raise `KeyboardInterrupt`, so one code path cleans up.

Training (and the app) go one step further: the first signal asks the work to stop at the end
of the current step and save a checkpoint (the run resumes exactly from it); a second one
interrupts at once, keeping the last complete checkpoint.

One stop often arrives twice within a millisecond: `make` passes its own SIGTERM on to the
command it runs, and `timeout` signals the whole process group. A second `KeyboardInterrupt`
raised inside the cleanup the first one started would cut it short (a half-written folder left
behind, the terminal left in the app's screen mode), so once a stop has raised
`KeyboardInterrupt` later ones are ignored until the command ends, and a signal within
`SAME_STOP_SECONDS` of the first does not count as the second one.

The handlers keep their state in plain variables: a signal can arrive while another handler
runs, and one waiting on a lock the interrupted handler holds (`threading.Event.set` takes one)
would wait forever.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SAME_STOP_SECONDS = 1.0

# True once a stop signal has raised KeyboardInterrupt in this command: cleanup is under way.
_interrupted = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    if _interrupted:
        return
    _interrupted = True
    raise KeyboardInterrupt


def ignore_stop_signals() -> None:
    """From here to the process's end, stop signals do nothing (the exit is already under way)."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def _handlers(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM both raise `KeyboardInterrupt` inside the block, the first one only."""
    global _interrupted
    _interrupted = False
    with _handlers(_interrupt):
        yield


@contextlib.contextmanager
def graceful_stop(cancel: threading.Event, on_first: Callable[[], None]) -> Iterator[None]:
    """The first SIGINT/SIGTERM sets `cancel` and calls `on_first`; a second one, later than
    `SAME_STOP_SECONDS`, raises `KeyboardInterrupt`."""
    first_at: float | None = None

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal first_at
        now = time.monotonic()
        if first_at is None:
            first_at = now
            cancel.set()
            try:
                on_first()
            except KeyboardInterrupt:  # on_first chose to stop at once: the cleanup must not be cut short
                global _interrupted
                _interrupted = True
                raise
        elif now - first_at >= SAME_STOP_SECONDS:
            _interrupt(signum, frame)

    with _handlers(handler):
        yield
