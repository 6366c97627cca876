"""The whole advice, and the choice of what to compare.

Three tabs over one `recommend` result (the dict `tunewise recommend --json` prints):
the options ranked, with the reasons, sources and estimates of the highlighted one; the guide's
prompting-vs-fine-tuning table in this user's numbers; and the run: which arms to compare
(the advisor's choice is ticked) and the main hyper-parameters of the trained arms, each checked
as it is typed by the same function that reads `tunewise compare --set`. The screen dismisses
with a `RunChoice`, or None when left with escape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, SelectionList, Static, TabbedContent, TabPane

# The main hyper-parameters offered for editing: (key `--set` takes, what the form calls it).
EDITABLE = (
    ("learning_rate", "learning rate"),
    ("num_train_epochs", "epochs"),
    ("per_device_train_batch_size", "batch size"),
    ("lora_r", "LoRA rank"),
)


@dataclass
class RunChoice:
    """What to compare: `--arms` and `--set` of `tunewise compare`."""

    arms: str
    overrides: list[str] = field(default_factory=list)


# The guide table's columns: the feature names, and what the borders, padding and scrollbar take.
GUIDE_FEATURE_WIDTH = 20
GUIDE_CHROME = 14
GUIDE_MIN_SIDE = 24


class AdviceScreen(Screen[RunChoice | None]):
    BINDINGS = [
        Binding("a", "accept", "Accept the advice"),
        Binding("r", "run", "Run the chosen arms"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, advice: dict[str, Any], *, probing: bool = False, on_documents: bool = False) -> None:
        super().__init__()
        self.advice = advice
        self.probing = probing
        self.on_documents = on_documents  # the questions are answered from the user's documents (`--docs`)
        self.by_method = {row["method"]: row for row in advice["ranking"]}
        self.errors: dict[str, str] = {}

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="advice-tabs"):
            with TabPane("Options", id="tab-options"):
                yield Static(self._headline(), id="advice-headline")
                yield DataTable(id="options", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="option-detail"):
                    yield Static("", id="option-reasons")
            with TabPane("Prompting vs fine-tuning", id="tab-guide"), VerticalScroll():
                yield DataTable(id="guide-table", cursor_type="none", zebra_stripes=True)
                yield Static(self._notes(), id="advice-notes")
            with TabPane("Run", id="tab-run"), Horizontal():
                with Vertical(id="run-arms-pane"):
                    yield Label("Arms to compare (space ticks)")
                    yield SelectionList[str](*self._arm_choices(), id="arm-choice")
                with VerticalScroll(id="run-settings"):
                    for key, name in EDITABLE:
                        with Horizontal(classes="setting-row"):
                            yield Label(name, classes="setting-name")
                            yield Input(placeholder=self._advised(key), id=f"set-{key}")
                        yield Static("", id=f"set-error-{key}", classes="question-error")
                    yield Static("", id="run-summary")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#advice-tabs").border_title = "Advice" + (
            " (the probe is still measuring)" if self.probing else ""
        )
        self._fill_options()
        self._fill_guide()
        self._show_reasons(self.advice["ranking"][0]["method"])
        self.show_summary()

    def _headline(self) -> str:
        model = self.advice["model"]
        return (
            f"[b]Recommended: {self.advice['recommended']}[/]  on {escape(self.advice['hardware'])}, "
            f"model {escape(model['name'])} ({model['params'] / 1e6:.0f}M)"
        )

    def _fill_options(self) -> None:
        from advisor.estimate import time_said
        from tunewise.units import human_money

        table = self.query_one("#options", DataTable)
        table.add_columns("option", "score", "memory", "time", "cost", "expected")
        for row in self.advice["ranking"]:
            est, expected = row["estimate"], row.get("expected")
            shown = f"{expected['low']:.2f}-{expected['high']:.2f}" if expected else "-"
            name = row["method"] if row["feasible"] else f"[red]{row['method']} (blocked)[/]"
            table.add_row(
                name, f"{row['score']:.0f}", f"{est['memory_gb']:.1f} GB", time_said(est),
                human_money(est["cost_usd"]), shown, key=row["method"],
            )  # fmt: skip

    def _fill_guide(self) -> None:
        table = self.query_one("#guide-table", DataTable)
        # Fixed widths and rows as tall as their text: at 80 columns both sides stay in view,
        # wrapped, instead of the fine-tuning side scrolling off to the right.
        side = max(GUIDE_MIN_SIDE, (self.app.size.width - GUIDE_FEATURE_WIDTH - GUIDE_CHROME) // 2)
        table.add_column("", width=GUIDE_FEATURE_WIDTH)
        table.add_column("prompting", width=side)
        table.add_column("fine-tuning", width=side)
        for row in self.advice["fine_tuning_vs_prompting"]:
            table.add_row(f"[b]{row['feature']}[/]", row["prompting"], row["fine_tuning"], height=None)

    def _notes(self) -> str:
        lines = [f"[yellow]! {escape(note)}[/]" for note in self.advice.get("notes") or []]
        hosted = self.advice.get("hosted_fine_tuning")
        if hosted:
            from hosted.estimate import describe

            lines += ["", f"[b]Elsewhere:[/] {escape(describe(hosted))}"]
        sources = self.advice.get("sources") or {}
        lines += ["", "[b]Sources[/]", *[f"[dim]{escape(short)}[/]: {escape(full)}" for short, full in sources.items()]]
        return "\n".join(lines)

    # ------------------------------------------------------------------ the highlighted option

    @on(DataTable.RowHighlighted, "#options")
    def option_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show_reasons(str(event.row_key.value))

    def _show_reasons(self, method: str) -> None:
        row = self.by_method[method]
        lines = [f"[b]{method}[/]  score {row['score']:.0f}"]
        for constraint in row["constraints"]:
            lines.append(f"[red]blocked: {escape(constraint['text'])}[/] [dim]({escape(constraint['source'])})[/]")
        for reason in row["reasons"]:
            colour = "green" if reason["points"] > 0 else "red"
            lines.append(
                f"[{colour}]{reason['points']:+.0f}[/] {escape(reason['text'])} [dim]({escape(reason['source'])})[/]"
            )
        expected = row.get("expected")
        if expected:
            lines += ["", f"expected {expected['mid']:.2f} ({expected['low']:.2f}-{expected['high']:.2f}): "
                      f"{escape(expected['basis'])}"]  # fmt: skip
        training = row.get("training")
        if training:
            shown = ", ".join(f"{k} {v}" for k, v in training.items() if v is not None)
            lines += ["", f"[dim]trains with {escape(shown)}[/]"]
        self.query_one("#option-reasons", Static).update("\n".join(lines))

    # ------------------------------------------------------------------ the run

    def _arm_choices(self) -> list[tuple[str, str, bool]]:
        from compare.arms import Task, arm_names
        from compare.plan import choose_arms

        task: Task = "classification" if self.advice["answers"]["task"] == "classification" else "generation"
        if self.on_documents and task == "generation":
            task = "documents"
        fitting = arm_names(task)
        feasible = [row["method"] for row in self.advice["ranking"] if row["feasible"]]
        chosen = set(choose_arms("recommended", feasible, task=task))
        return [(arm, arm, arm in chosen) for arm in fitting]

    def _advised(self, key: str) -> str:
        """The advised values, per trained method, that a blank field keeps."""
        values = [
            f"{row['method']} {row['training'][key]:g}"
            for row in self.advice["ranking"]
            if row.get("training") and row["training"].get(key) is not None and row["method"] in ("full", "lora")
        ]
        return "advised: " + (", ".join(values) if values else "the harness default")

    @on(Input.Changed)
    def setting_changed(self, event: Input.Changed) -> None:
        self.show_summary()

    @on(SelectionList.SelectedChanged)
    def arms_changed(self) -> None:
        self.show_summary()

    def overrides(self) -> list[str] | None:
        """The edited hyper-parameters as `--set KEY=VALUE`; None while one is invalid (its
        error, the harness's own message, shown under it)."""
        from harness.config import build_config
        from tunewise.errors import ConfigError

        overrides: list[str] = []
        self.errors = {}
        for key, _ in EDITABLE:
            text = self.query_one(f"#set-{key}", Input).value.strip()
            message = ""
            if text:
                try:
                    build_config({"method": "lora"}, [f"{key}={text}"], source="the form")
                    overrides.append(f"{key}={text}")
                except ConfigError as exc:
                    message = self.errors[key] = exc.message
            self.query_one(f"#set-error-{key}", Static).update(escape(message))
        return None if self.errors else overrides

    def chosen_arms(self) -> list[str]:
        return list(self.query_one("#arm-choice", SelectionList).selected)

    def show_summary(self) -> None:
        overrides, arms = self.overrides(), self.chosen_arms()
        if not arms:
            text = "[red]tick at least one arm[/]"
        elif overrides is None:
            text = "[red]fix the value above first[/]"
        else:
            settings = f" --set {' --set '.join(overrides)}" if overrides else ""
            text = f"r runs: tunewise compare --arms {','.join(arms)}{settings}"
        self.query_one("#run-summary", Static).update(text)

    # ------------------------------------------------------------------ leaving

    def action_accept(self) -> None:
        """The advisor's choice, as `--arms recommended`, with its own hyper-parameters."""
        self.dismiss(RunChoice("recommended"))

    def action_run(self) -> None:
        overrides, arms = self.overrides(), self.chosen_arms()
        if not arms or overrides is None:
            self.query_one("#advice-tabs", TabbedContent).active = "tab-run"
            self.notify("Tick at least one arm and fix any value marked in red", severity="warning")
            return
        self.dismiss(RunChoice(",".join(arms), overrides))

    def action_cancel(self) -> None:
        self.dismiss(None)
