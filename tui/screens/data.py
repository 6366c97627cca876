"""Choosing the data: a built-in demo set, or a file or folder from a directory tree, previewed.

The preview reads the rows with the same reader as every command (`tunewise.data.task.open_table`)
and names their shape with the same detection (`tunewise.data.shapes.detect_columns`), so what
the screen shows is what `--data PATH [--columns ...]` would do. When the column names say
nothing, two selects map the input and the target; the mapping becomes the spec's `columns`.
The screen dismisses with the chosen `DataSpec`, or None when left with escape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, DirectoryTree, Footer, Header, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui.messages import PreviewRead
from tui.screens.reporting import ReportsWorkerErrors
from tunewise.data.task import DataSpec

if TYPE_CHECKING:
    from tunewise.data.raw import RawTable

PREVIEW_ROWS = 8
CELL_WIDTH = 40
# What the target column holds decides the canonical fields the two columns map to.
TARGET_KINDS = {
    "labels": ("text", "label"),  # classify the input into the target's values
    "answers": ("prompt", "completion"),  # generate the target from the input
}
SHAPE_FIELDS = {
    "labelled": ("labels", "text", "label"),
    "prompt_completion": ("answers", "prompt", "completion"),
    "qa": ("answers", "question", "answer"),
}


class DataFiles(DirectoryTree):
    """The directory tree, showing folders and the files tunewise reads, not hidden ones."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        from tunewise.data.formats import FILE_SUFFIXES

        return [p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in FILE_SUFFIXES)]


class DataScreen(ReportsWorkerErrors, Screen[DataSpec | None]):
    BINDINGS = [
        Binding("u", "use", "Use this data"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, current: DataSpec, root: Path | None = None) -> None:
        super().__init__()
        self.current = current
        self.root = root or Path.cwd()
        self.path: str | None = None
        self.table: RawTable | None = None
        self.columns: dict[str, str] = {}  # the mapping the user chose; empty: the detected one
        self.usable = False

    def compose(self) -> ComposeResult:
        from tunewise.data.demo import DEMO_DATASETS

        yield Header()
        with Horizontal():
            with Vertical(id="data-browse"):
                yield OptionList(*[Option(name, id=name) for name in DEMO_DATASETS], id="demo-sets")
                yield DataFiles(self.root, id="data-tree")
            with Vertical(id="data-preview"):
                yield Static("Pick a demo set, or a file or folder in the tree (enter).", id="data-detected")
                with Grid(id="data-mapping"):
                    yield Label("input column")
                    yield Label("target column")
                    yield Label("the target holds")
                    yield Select[str]([], id="map-input", prompt="column")
                    yield Select[str]([], id="map-target", prompt="column")
                    yield Select([(k, k) for k in TARGET_KINDS], allow_blank=False, id="map-kind")
                yield DataTable(id="data-rows", zebra_stripes=True, cursor_type="none")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#data-browse").border_title = "Demo sets and files"
        self.query_one("#demo-sets").border_title = "built in"
        self.query_one("#data-preview").border_title = "Preview"
        self.query_one("#data-mapping").display = False
        self.query_one("#data-tree").focus()

    # ------------------------------------------------------------------ choosing

    @on(OptionList.OptionSelected, "#demo-sets")
    def demo_chosen(self, event: OptionList.OptionSelected) -> None:
        self.read(str(event.option.id))

    @on(DirectoryTree.FileSelected)
    def file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        self.read(_shown(event.path))

    @on(DirectoryTree.DirectorySelected)
    def folder_chosen(self, event: DirectoryTree.DirectorySelected) -> None:
        # Only a folder that is data by itself is read: reading every folder opened on the way
        # (a home directory, say) would walk all of its documents.
        if _looks_like_data(event.path):
            self.read(_shown(event.path))

    def read(self, path: str) -> None:
        self.path, self.table, self.usable, self.columns = path, None, False, {}
        self.query_one("#data-preview").border_title = f"Preview: {path}"
        self.query_one("#data-detected", Static).update("Reading...")
        self.query_one("#data-rows", DataTable).clear(columns=True)
        self.query_one("#data-mapping").display = False
        self.read_rows(path)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def read_rows(self, path: str) -> None:
        from tunewise.data.task import open_table
        from tunewise.errors import TunewiseError

        try:
            self.post_message(PreviewRead(path, open_table(path)))
        except TunewiseError as exc:
            self.post_message(PreviewRead(path, None, exc.message))

    @on(PreviewRead)
    def show_rows(self, event: PreviewRead) -> None:
        from tunewise.data.demo import DEMO_DATASETS, is_demo

        if event.path != self.path:  # an older choice, read after a newer one was made
            return
        if is_demo(event.path):
            self.query_one("#data-preview").border_title = f"Preview: {event.path}, {DEMO_DATASETS[event.path]}"
        if event.table is None:
            self.query_one("#data-detected", Static).update(f"[red]{escape(event.problem)}[/]")
            return
        self.table = table = event.table
        rows = self.query_one("#data-rows", DataTable)
        rows.add_columns(*table.columns)
        for row in table.rows[:PREVIEW_ROWS]:
            rows.add_row(*(_cell(row.get(column)) for column in table.columns))
        self.fill_mapping()
        self.detect()

    # ------------------------------------------------------------------ columns

    def fill_mapping(self) -> None:
        """Offer the table's columns in the mapping selects, set to what detection found."""
        from tunewise.data.shapes import detect_columns
        from tunewise.errors import DataError

        assert self.table is not None
        options = [(column, column) for column in self.table.columns]
        kind, first, second = "labels", None, None
        try:
            shape, found = detect_columns(self.table)
        except DataError:  # nothing recognised: the user maps the columns
            shape, found = None, {}
        if shape is not None and shape.value not in SHAPE_FIELDS:  # chats, documents: nothing to map
            return
        if shape is not None:
            kind, input_field, target_field = SHAPE_FIELDS[shape.value]
            first, second = found[input_field], found[target_field]
        self.query_one("#data-mapping").display = len(self.table.columns) >= 2
        self.query_one("#map-kind", Select).value = kind
        for select_id, value in (("#map-input", first), ("#map-target", second)):
            select = self.query_one(select_id, Select)
            select.set_options(options)
            if value is not None:
                select.value = value

    @on(Select.Changed)
    def mapping_changed(self, event: Select.Changed) -> None:
        if self.table is not None:
            self.columns = self.chosen_mapping()
            self.detect()

    def chosen_mapping(self) -> dict[str, str]:
        """The selects as `--columns`; empty when they say what detection says on its own."""
        from tunewise.data.shapes import detect_columns
        from tunewise.errors import DataError

        assert self.table is not None
        kind = self.query_one("#map-kind", Select).value
        first, second = self.query_one("#map-input", Select).value, self.query_one("#map-target", Select).value
        if not isinstance(first, str) or not isinstance(second, str) or not isinstance(kind, str):
            return {}
        try:
            shape, found = detect_columns(self.table)
        except DataError:
            shape, found = None, {}
        if shape is not None and shape.value in SHAPE_FIELDS:
            detected_kind, input_field, target_field = SHAPE_FIELDS[shape.value]
            if (detected_kind, found[input_field], found[target_field]) == (kind, first, second):
                return {}
        input_field, target_field = TARGET_KINDS[kind]
        return {input_field: first, target_field: second}

    def detect(self) -> None:
        """Say what the rows are with the current mapping, or why they cannot be used."""
        from tunewise.data.shapes import detect_columns
        from tunewise.errors import DataError

        assert self.table is not None and self.path is not None
        table = self.table
        head = f"[b]{escape(self.path)}[/]  {_kind(self.path, table)}, {len(table.rows):,} rows, " + (
            f"{len(table.columns)} columns"
        )
        try:
            shape, found = detect_columns(table, self.columns)
        except DataError as exc:
            self.usable = False
            hint = "map the input and target columns below" if len(table.columns) >= 2 else "pick another file"
            self.query_one("#data-detected", Static).update(f"{head}\n[red]{escape(exc.message)}[/]\n{hint}")
            return
        if self.columns and len(table.columns) >= 2 and _is_identity(found):
            self.usable = False
            self.query_one("#data-detected", Static).update(f"{head}\n[red]input and target are the same column[/]")
            return
        self.usable = True
        mapping = ", ".join(f"{name}={column}" for name, column in found.items())
        source = "mapped" if self.columns else "detected"
        self.query_one("#data-detected", Static).update(
            f"{head}\n{source}: [b]{shape.value}[/] ({escape(mapping)})\n[green]u uses this data[/]"
        )

    # ------------------------------------------------------------------ leaving

    def action_use(self) -> None:
        if self.path is None or not self.usable:
            self.notify("Pick data the preview can use first", severity="warning")
            return
        same_data = self.path == self.current.path
        spec = replace(
            self.current if same_data else DataSpec(),
            path=self.path,
            columns=dict(self.columns),
        )
        self.dismiss(spec)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _shown(path: Path) -> str:
    """The path the spec keeps: relative to the working folder when under it, as a user types it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _looks_like_data(folder: Path) -> bool:
    """A `datasets` save, or a folder with documents directly in it."""
    from tunewise.data.formats import DOCUMENT_SUFFIXES

    if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
        return True
    try:
        return any(p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _is_identity(found: dict[str, str]) -> bool:
    """Whether two canonical fields landed on one column."""
    return len(set(found.values())) < len(found)


def _kind(path: str, table: RawTable) -> str:
    if table.unit == "file":
        return "documents"
    if not Path(path).exists():
        return "built-in demo set"
    return Path(path).suffix.lstrip(".").upper() or "folder"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return escape(text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…")
