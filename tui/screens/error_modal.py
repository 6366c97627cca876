"""A modal that shows what went wrong, in one line, with the details under it, and waits to be
dismissed; the screen under it stays as it was, so the app remains usable."""

from __future__ import annotations

import traceback

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Collapsible, Label, Static

BUG_TITLE = "Unexpected error"
BUG_HINT = "this is a bug in tunewise; the details below say where it happened"


class ErrorModal(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "dismiss_modal", "Close")]

    def __init__(self, title: str, message: str, details: str = "") -> None:
        super().__init__()
        self.error_title = title
        self.error_message = message
        self.details = details

    @classmethod
    def for_bug(cls, error: BaseException) -> ErrorModal:
        """An exception tunewise did not expect: its one-line form first, the traceback folded."""
        line = f"{type(error).__name__}: {error}".splitlines()[0]
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return cls(BUG_TITLE, f"{line} ({BUG_HINT})", details)

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label(self.error_title, id="error-title")
            yield Static(self.error_message, id="error-message", markup=False)
            if self.details:
                with Collapsible(title="details", id="error-details"), VerticalScroll(id="error-details-scroll"):
                    yield Static(self.details, markup=False)
            yield Button("Close", variant="error", id="error-close")

    def on_mount(self) -> None:
        self.query_one("#error-close").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "error-close":
            self.dismiss(None)

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)
