"""The tunewise Textual app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding

from compare.plan import DocumentsChoice, LmChoice
from tui.screens.home import HomeScreen
from tui.screens.stoppable import StoppableWork
from tunewise import __version__
from tunewise.data.task import DataSpec

if TYPE_CHECKING:
    from hosted.served_arms import Served


class TunewiseApp(App[None]):
    CSS_PATH = "tunewise.tcss"
    TITLE = "tunewise"
    SUB_TITLE = f"prompt, retrieve or fine-tune? v{__version__}"
    BINDINGS = [Binding("question_mark", "toggle_keys", "Keys", key_display="?")]

    def __init__(
        self,
        spec: DataSpec | None = None,
        lm: LmChoice | None = None,
        served: Served | None = None,
        documents: DocumentsChoice | None = None,
        *,
        seeds: int | None = None,
    ) -> None:
        super().__init__()
        self.seeds = seeds  # training runs per trained arm in a comparison (None: the runner's default)
        self.spec = spec or DataSpec()
        self.lm = lm or LmChoice()
        self.documents = documents or DocumentsChoice()
        self.served = served  # connected once, before the app opened
        self.stopped_work: list[str] = []  # what a stop signal stopped, for the closing message

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.spec, self.lm, self.served, self.documents, seeds=self.seeds))

    def stop_and_close(self) -> None:
        """What a stop signal does: running work stops as its `s` key stops it (a checkpoint the
        run resumes from), then the app closes once that work has ended."""
        for screen in self.screen_stack:
            if isinstance(screen, StoppableWork) and screen.running:
                screen.action_stop()
                self.stopped_work.append(screen.WHAT.lower())
        self.exit()

    def action_toggle_keys(self) -> None:
        """`?` shows every key of the screen in a side panel, and hides it again."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
