"""What every screen of long work shares: a stop key that keeps a resumable state, and a back key
that will not walk away from work still running."""

from __future__ import annotations

import threading

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from tui.screens.reporting import ReportsWorkerErrors


class StoppableWork(ReportsWorkerErrors, Screen[None]):
    """A screen whose worker watches `cancel`; `running` is true while the worker works."""

    BINDINGS = [
        Binding("s", "stop", "Stop (resumable)"),
        Binding("escape", "back", "Back"),
    ]
    STAGE_ID = ""  # the Static that says what the work is doing
    WHAT = "The work"
    STOPPING = "Stopping after this step (saving a checkpoint)..."

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()
        self.running = False

    def action_stop(self) -> None:
        if self.running:
            self.cancel.set()
            self.query_one(f"#{self.STAGE_ID}", Static).update(self.STOPPING)

    def action_back(self) -> None:
        if self.running:
            self.notify(f"{self.WHAT} is running: press s to stop it first (it can be resumed).")
            return
        self.app.pop_screen()

    def worker_failed(self, worker: Worker[object]) -> None:
        self.running = False  # the back key works again
        self.query_one(f"#{self.STAGE_ID}", Static).update(f"[red]{self.WHAT} stopped on an unexpected error.[/]")
