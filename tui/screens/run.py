"""A comparison running: one row per arm with its state, the training arm's progress, the log.

The work is `compare.runner.run_comparison`, the function `tunewise compare` calls, in a worker
thread; the screen only watches it (`Watchers`). Stopping keeps every finished arm in the run
registry and the training arm's last checkpoint, so starting the same comparison again resumes.
When it finishes, the results screen opens on the report it wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Log, ProgressBar, Static

from compare.arms import ENDED_STATES, FINISHED_STATES, ArmState
from compare.plan import ComparisonPlan, Watchers
from tui.messages import ArmChanged, ArmProgressed, ArmsChosen, ComparisonEnded, LogLine
from tui.screens.error_modal import ErrorModal
from tui.screens.stoppable import StoppableWork
from tui.widgets.loss_chart import LossChart

if TYPE_CHECKING:
    from textual.clock import Clock

    from compare.results import Results

BAR_WIDTH = 12


def _bar(fraction: float | None) -> str:
    """A row's own progress bar; None for an arm that ended without finishing."""
    if fraction is None:
        return "-"
    filled = round(fraction * BAR_WIDTH)
    return f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {fraction:4.0%}"


class RunScreen(StoppableWork):
    STAGE_ID = "run-stage"
    WHAT = "The comparison"
    STOPPING = "Stopping at the next step (finished arms and a checkpoint are kept)..."

    def __init__(self, plan: ComparisonPlan, out: Path, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.plan, self.out = plan, out
        self.clock = clock  # what the training bar's time left is measured by (a test freezes it)
        self.started = time.monotonic()
        self.results: Results | None = None
        self.states: dict[str, str] = {}
        self.active: str | None = None  # the arm running now

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run-pane"):
            yield Static("Freezing the split and fixing the advice...", id="run-stage")
            yield DataTable(id="run-arms", cursor_type="none")
            yield ProgressBar(id="run-progress", total=1.0, show_eta=True, clock=self.clock)
            with Horizontal(id="run-bottom"):
                yield LossChart(id="run-loss")
                yield Log(id="run-log", max_lines=500)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#run-pane").border_title = f"Comparing on {self.plan.data.path}"
        table = self.query_one("#run-arms", DataTable)
        for column in ("arm", "state", "progress", "elapsed"):
            table.add_column(column, key=column)
        self.running = True
        self._tick()
        self.set_interval(1.0, self._tick)
        self.compare()

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f} s"

    def _tick(self) -> None:
        if self.running:
            self.query_one("#run-pane").border_subtitle = self.elapsed()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def compare(self) -> None:
        from compare.report.workspace import workspace, write_reports
        from compare.runner import run_comparison  # the rooms load once a comparison starts
        from tunewise.errors import InterruptionError, TunewiseError

        def on_arm(arm: str, state: ArmState) -> None:
            self.post_message(ArmChanged(arm, state))

        def on_progress(progress: Any) -> None:
            self.post_message(ArmProgressed(progress))

        def log(line: str) -> None:
            self.post_message(LogLine(line))

        def on_arms(arms: list[str], advice: str | None) -> None:
            self.post_message(ArmsChosen(arms, advice))

        watchers = Watchers(on_arm=on_arm, on_progress=on_progress, on_arms=on_arms, cancel=self.cancel)
        try:
            with workspace(self.out) as work_folder:
                results = run_comparison(self.plan, log, out=self.out, watchers=watchers)
                write_reports(work_folder, results)
        except InterruptionError as exc:
            self.post_message(ComparisonEnded(None, stopped=exc.message))
        except TunewiseError as exc:
            self.post_message(ComparisonEnded(None, failed=(exc.title, exc.message)))
        else:
            self.post_message(ComparisonEnded(results))

    @on(LogLine)
    def show_line(self, event: LogLine) -> None:
        self.query_one("#run-log", Log).write_line(event.line)

    @on(ArmsChosen)
    def show_arms(self, event: ArmsChosen) -> None:
        self.query_one("#run-stage", Static).update(f"arms: {', '.join(event.arms)} (the advice: {event.advice})")

    @on(ArmChanged)
    def show_arm(self, event: ArmChanged) -> None:
        table = self.query_one("#run-arms", DataTable)
        if event.arm not in self.states:
            table.add_row(event.arm, "", "", "", key=event.arm)
        self.states[event.arm] = event.state
        table.update_cell(event.arm, "state", event.state, update_width=True)
        table.update_cell(event.arm, "elapsed", self.elapsed(), update_width=True)
        if event.state in ENDED_STATES:
            table.update_cell(
                event.arm, "progress", _bar(1.0 if event.state in FINISHED_STATES else None), update_width=True
            )
        if event.state == "running":
            self.active = event.arm
            self.query_one("#run-progress", ProgressBar).update(progress=0.0)
            self.query_one("#run-loss", LossChart).reset(f"{event.arm}: loss")

    @on(ArmProgressed)
    def show_progress(self, event: ArmProgressed) -> None:
        progress = event.progress
        self.query_one("#run-progress", ProgressBar).update(progress=progress.fraction)
        if self.active is not None:
            self.query_one("#run-arms", DataTable).update_cell(
                self.active, "progress", _bar(progress.fraction), update_width=True
            )
        chart = self.query_one("#run-loss", LossChart)
        if progress.event == "log" and progress.loss is not None:
            chart.add(progress.step, progress.loss)
        elif progress.event == "eval" and "eval_loss" in progress.eval_metrics:
            chart.add_eval(progress.step, progress.eval_metrics["eval_loss"])
        if progress.loss is not None:
            self.query_one("#run-stage", Static).update(
                f"training: step {progress.step}/{progress.max_steps}, epoch {progress.epoch:.1f}, loss {progress.loss:.3f}"
            )

    @on(ComparisonEnded)
    def finished(self, event: ComparisonEnded) -> None:
        self.running = False
        stage = self.query_one("#run-stage", Static)
        if event.failed is not None:
            stage.update(f"[red]{event.failed[1]}[/]")
            self.app.push_screen(ErrorModal(*event.failed))
            return
        if event.results is None:
            stage.update(f"[yellow]Stopped.[/] {event.stopped}")
            return
        self.results = event.results
        verdict = event.results.verdict
        stage.update(f"Done: ship {verdict.ship}" if verdict else "Done")
        from tui.screens.results import ResultsScreen

        self.app.push_screen(ResultsScreen(event.results, self.out))
