"""The tunewise Textual app."""

from __future__ import annotations

from textual.app import App

from tui.screens.home import HomeScreen
from tunewise import __version__
from tunewise.data.task import DataSpec


class TunewiseApp(App[None]):
    CSS_PATH = "tunewise.tcss"
    TITLE = "tunewise"
    SUB_TITLE = f"prompt, retrieve or fine-tune? v{__version__}"

    def __init__(self, spec: DataSpec | None = None) -> None:
        super().__init__()
        self.spec = spec or DataSpec()

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.spec))
