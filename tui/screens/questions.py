"""The questionnaire as a form: every answer the advisor reads, pre-filled, checked as it is typed.

Each field is checked with the same functions and messages as an answers file (`advisor.answers`:
`coerce` for the value, `validate` for the whole), so the form cannot accept what
`tunewise recommend --answers FILE` would refuse. The form saves to and loads from the same YAML
files. It dismisses with the new `Answers`, or None when left with escape.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Select, Static, Switch

from advisor.answers import Answers
from tunewise.errors import ConfigError, TunewiseError

DEFAULT_ANSWERS_FILE = Path("tunewise-answers.yaml")


class QuestionsScreen(Screen[Answers | None]):
    BINDINGS = [
        Binding("ctrl+a", "accept", "Use these answers"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+o", "load", "Load"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, answers: Answers, path: Path = DEFAULT_ANSWERS_FILE) -> None:
        super().__init__()
        self.answers = answers
        self.path = path
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="questions"):
            for f in fields(Answers):
                with Vertical(classes="question"):
                    with Horizontal(classes="question-row"):
                        yield Label(f.name, classes="question-name")
                        yield self._field_widget(f.name, f.metadata.get("choices"), getattr(self.answers, f.name))
                    yield Static(f.metadata["help"], classes="question-help")
                    error = Static("", id=f"error-{f.name}", classes="question-error")
                    error.display = False  # shown when the field holds a wrong value
                    yield error
        with Horizontal(id="answers-file-row"):
            yield Label("answers file", classes="question-name")
            yield Input(str(self.path), id="answers-file")
        yield Static("", id="questions-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#questions").border_title = "Your case (pre-filled from the data and this machine)"

    @staticmethod
    def _field_widget(name: str, choices: tuple[str, ...] | None, value: Any) -> Input | Select[str] | Switch:
        if isinstance(value, bool):
            return Switch(value=value, id=f"field-{name}")
        if choices:
            return Select([(c, c) for c in choices], value=value, allow_blank=False, id=f"field-{name}")
        return Input("" if value is None else _shown(value), id=f"field-{name}")

    # ------------------------------------------------------------------ reading the form

    def raw_values(self) -> dict[str, Any]:
        """What the form holds, as an answers file would: text for inputs, a blank for none."""
        values: dict[str, Any] = {}
        for f in fields(Answers):
            widget = self.query_one(f"#field-{f.name}")
            if isinstance(widget, Switch | Select):
                values[f.name] = widget.value
            elif isinstance(widget, Input):
                text = widget.value.strip()
                values[f.name] = None if text in ("", "null", "none") else text
        return values

    def read_answers(self) -> Answers:
        """The form's answers, checked field by field and then as a whole; `ConfigError` names the field."""
        from advisor.answers import build_answers, coerce, validate

        defaults = Answers()
        coerced: dict[str, Any] = {}
        for name, value in self.raw_values().items():
            if value is None:  # a blank field means "no answer": the default
                coerced[name] = getattr(defaults, name)
                continue
            coerced[name] = coerce(name, _yaml(value) if isinstance(value, str) else value, "form")
        answers = build_answers(coerced)
        validate(answers)
        return answers

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    def check(self, event: Input.Changed | Switch.Changed | Select.Changed) -> None:
        if event.control.id == "answers-file":
            return
        self.validate_form()

    def validate_form(self) -> Answers | None:
        """Show each field's error beside it (the answers file's own message) and return the
        answers when the whole form is valid."""
        from advisor.answers import check_value, coerce

        self.errors = {}
        for name, value in self.raw_values().items():
            if isinstance(value, str):
                try:
                    check_value(name, coerce(name, _yaml(value), "form"))
                except ConfigError as exc:
                    self.errors[name] = exc.message.removeprefix("form: ")
        for f in fields(Answers):
            error = self.query_one(f"#error-{f.name}", Static)
            error.update(self.errors.get(f.name, ""))
            error.display = f.name in self.errors
        status = self.query_one("#questions-status", Static)
        if self.errors:
            status.update(f"[red]{len(self.errors)} answer(s) to fix[/]")
            return None
        try:
            answers = self.read_answers()
        except ConfigError as exc:  # the answers disagree with each other
            status.update(f"[red]{exc.message}[/]")
            return None
        status.update("[green]ready[/]: ctrl+a uses these answers")
        return answers

    # ------------------------------------------------------------------ actions

    def action_accept(self) -> None:
        answers = self.validate_form()
        if answers is not None:
            self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _file(self) -> Path:
        return Path(self.query_one("#answers-file", Input).value.strip() or DEFAULT_ANSWERS_FILE)

    def action_save(self) -> None:
        from advisor.answers import check_destination, save_answers

        answers = self.validate_form()
        if answers is None:
            return
        path = self._file()
        try:
            check_destination(path, "answers file")
            save_answers(answers, path)
        except TunewiseError as exc:
            self.query_one("#questions-status", Static).update(f"[red]{exc.message}[/]")
            return
        self.query_one("#questions-status", Static).update(f"saved to {path}")

    def action_load(self) -> None:
        from advisor.answers import build_answers, read_answers_file

        path = self._file()
        try:
            loaded = build_answers({**self.read_answers_lenient(), **read_answers_file(path)})
        except TunewiseError as exc:
            self.query_one("#questions-status", Static).update(f"[red]{exc.message}[/]")
            return
        self.fill(loaded)
        self.validate_form()
        self.query_one("#questions-status", Static).update(f"loaded {path}")

    def read_answers_lenient(self) -> dict[str, Any]:
        """The current answers as a layer under a loaded file (a file may give only some keys)."""
        return {f.name: getattr(self.answers, f.name) for f in fields(Answers)}

    def fill(self, answers: Answers) -> None:
        self.answers = answers
        for f in fields(Answers):
            widget = self.query_one(f"#field-{f.name}")
            value = getattr(answers, f.name)
            if isinstance(widget, Switch):
                widget.value = bool(value)
            elif isinstance(widget, Select):
                widget.value = value
            elif isinstance(widget, Input):
                widget.value = "" if value is None else _shown(value)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _yaml(text: str) -> Any:
    """A typed value the way an answers file would read it (`12` an int, `1.5` a float)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
