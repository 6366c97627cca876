"""A comparison's results, and the comparisons the run registry remembers.

Both screens read what `tunewise compare` wrote (`results.json`) and format it with the same
functions as its Markdown and HTML reports (`compare.report.markdown`), so the app, the
terminal table and the reports never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, Static

from compare.report.general import general_markdown
from tui.screens.error_modal import ErrorModal
from tui.widgets.interval_chart import Interval, IntervalChart

if TYPE_CHECKING:
    from compare.results import Results

REPORT_FILE = "report.html"


class ResultsScreen(Screen[None]):
    """The verdict first, then one row per arm (metric with interval, expectation, costs)."""

    BINDINGS = [
        Binding("o", "open_report", "Open report"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, results: Results, folder: Path | None = None) -> None:
        super().__init__()
        self.results = results
        self.folder = folder

    def compose(self) -> ComposeResult:
        from compare.report.markdown import (
            break_even_sentence,
            method_sentences,
            overlap_sentence,
            verdict_sentences,
        )

        yield Header()
        with VerticalScroll(id="results-pane"):
            verdict, advice = verdict_sentences(self.results)
            yield Static(_plain(verdict), id="verdict")
            yield Static(_plain(advice), id="advice-held")
            if break_even_sentence(self.results):
                yield Static(_plain(break_even_sentence(self.results)), id="break-even")
            if overlap_sentence(self.results):
                yield Static(_plain(overlap_sentence(self.results)), id="overlap-warning")
            yield Static(self._report_line(), id="report-path")
            yield DataTable(id="arms", zebra_stripes=True, cursor_type="row")
            yield IntervalChart(_intervals(self.results), self.results.primary_metric, self._shipped(), id="chart")
            if self.results.on_documents:
                from compare.report.documents import markdown_sections

                # The reports' own tables: retrieval by retriever, and each arm on later knowledge.
                yield Markdown("\n".join(markdown_sections(self.results)), id="documents")
            if general_markdown(self.results):
                yield Markdown("\n".join(general_markdown(self.results)), id="general")
            yield Static(_plain(" ".join(method_sentences(self.results))), id="method")
        yield Footer(compact=True, show_command_palette=False)

    def _shipped(self) -> str | None:
        return self.results.verdict.ship if self.results.verdict else None

    def on_mount(self) -> None:
        from compare.report.markdown import arm_rows, columns

        self.query_one("#results-pane").border_title = f"Comparison: {self.results.data}"
        table = self.query_one("#arms", DataTable)
        names = columns(self.results)
        table.add_columns(*names)
        for row in arm_rows(self.results):
            table.add_row(*(row[name] for name in names), key=row["arm"])

    def _report_line(self) -> str:
        if self.folder is None:
            return "no report written (run `tunewise compare --out DIR` to keep one)"
        return f"report: {_shown(self.folder / REPORT_FILE)}  (o opens it in a browser)"

    def action_open_report(self) -> None:
        if self.folder is None or not (self.folder / REPORT_FILE).is_file():
            self.notify("This comparison has no HTML report on disk", severity="warning")
            return
        import webbrowser

        opened = webbrowser.open((self.folder / REPORT_FILE).resolve().as_uri())
        if not opened:
            self.notify(f"No browser here; the report is {(self.folder / REPORT_FILE).resolve()}")


class PastComparisonsScreen(Screen[None]):
    """Every comparison the run registry recorded, newest first; enter opens one."""

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="history-pane"):
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
            yield Static("", id="history-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        from tunewise.registry import Registry

        self.query_one("#history-pane").border_title = "Past comparisons (the run registry)"
        table = self.query_one("#history", DataTable)
        table.add_columns("id", "data", "status", "ship", "advice", "held", "folder")
        self.runs = Registry().runs(limit=200, kind="comparison")
        for run in self.runs:
            metrics = run.metrics or {}
            held = metrics.get("advice_fate") or {True: "held", False: "no", None: "-"}[metrics.get("advice_held")]
            table.add_row(
                str(run.id), run.name, run.shown_status, str(metrics.get("ship") or "-"),
                str(metrics.get("advice") or "-"), held, run.artifact or "-", key=str(run.id),
            )  # fmt: skip
        status = self.query_one("#history-status", Static)
        status.update(
            f"{len(self.runs)} comparison(s); enter opens one" if self.runs else "No comparison recorded yet."
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_row(event.cursor_row)

    def action_open(self) -> None:
        self.open_row(self.query_one("#history", DataTable).cursor_row)

    def open_row(self, row: int) -> None:
        if not 0 <= row < len(self.runs):
            return
        run = self.runs[row]
        if not run.artifact:
            self.app.push_screen(
                ErrorModal("No results kept", f"comparison {run.id} ran without --out, so its results were not kept")
            )
            return
        from compare.results import Results
        from tunewise.errors import TunewiseError

        try:
            results = Results.load(Path(run.artifact))
        except TunewiseError as exc:
            self.app.push_screen(ErrorModal(exc.title, exc.message))
            return
        self.app.push_screen(ResultsScreen(results, Path(run.artifact)))


def _intervals(results: Results) -> list[Interval]:
    """The primary metric of every arm that finished, with its bootstrap interval."""
    metric = results.primary_metric
    return [
        Interval(arm.name, arm.metric(metric), *arm.ci95[metric], tuple(seed.score for seed in arm.seeds))
        for arm in results.finished
        if metric in arm.ci95
    ]


def _shown(path: Path) -> str:
    """A path as short as it can be said: from the working folder when it is under it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)


def _plain(markdown: str) -> str:
    """The reports' Markdown sentences as console markup: bold kept, code spans plain."""
    import re

    from rich.markup import escape

    text = escape(markdown).replace("`", "")
    return re.sub(r"\*\*(.+?)\*\*", r"[b]\1[/b]", text)
