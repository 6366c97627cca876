"""Stopping from outside: Ctrl-C (SIGINT) and SIGTERM end a command the same clean way.

A `kill PID`, a CI time-out or a container stop sends SIGTERM, which would otherwise end the
process on the spot, skipping every cleanup: temporary folders, lock files, half-written
checkpoints. Both signals therefore raise `KeyboardInterrupt`, so one code path cleans up.

Training goes one step further: the first signal asks the Trainer to stop at the end of the
current step and save a checkpoint (the run resumes exactly from it); a second one interrupts
at once, keeping the last complete checkpoint.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


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
    """SIGINT and SIGTERM both raise `KeyboardInterrupt` inside the block."""
    with _handlers(_interrupt):
        yield


@contextlib.contextmanager
def graceful_stop(cancel: threading.Event, on_first: Callable[[], None]) -> Iterator[None]:
    """The first SIGINT/SIGTERM sets `cancel` and calls `on_first`; a second raises `KeyboardInterrupt`."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        on_first()

    with _handlers(handler):
        yield
