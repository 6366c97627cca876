"""Screens whose workers may fail in a way nobody planned for.

Workers catch `TunewiseError` themselves and say what to do; anything else is a bug. Started
with `exit_on_error=False`, such a worker ends in the ERROR state instead of closing the app, and
this mixin shows the error in a modal, so the user keeps their screen and can carry on.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


class ReportsWorkerErrors:
    """Mixed into a `Screen`: a worker of the screen that raises opens an `ErrorModal`."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            from tui.screens.error_modal import ErrorModal

            self.app.push_screen(ErrorModal.for_bug(event.worker.error))  # type: ignore[attr-defined]
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[object]) -> None:
        """What the screen does besides showing the error (e.g. mark the work as no longer running)."""
