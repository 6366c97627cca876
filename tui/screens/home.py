"""The first screen: the user's data, profiled, and the models tunewise can use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static
from textual.worker import get_current_worker

from compare.plan import DocumentsChoice, LmChoice
from tui.messages import (
    AdviceReady,
    DataUnreadable,
    ModelPrepared,
    PrepareProgressed,
    ProbeProgressed,
    ProfileReady,
    WorkFailed,
)
from tui.screens.error_modal import ErrorModal
from tui.screens.reporting import ReportsWorkerErrors
from tunewise.data.task import DataSpec
from tunewise.errors import InterruptionError, TunewiseError

if TYPE_CHECKING:
    from advisor.answers import Answers
    from compare.advise import Advice
    from compare.plan import ComparisonPlan
    from hosted.served_arms import Served
    from tui.screens.advice import RunChoice


class HomeScreen(ReportsWorkerErrors, Screen[None]):
    BINDINGS = [
        Binding("o", "open_data", "Data"),
        Binding("e", "edit_answers", "Answers"),
        Binding("a", "advice", "Advice"),
        Binding("c", "compare", "Compare"),
        Binding("h", "history", "History"),
        Binding("t", "train", "Train"),
        Binding("p", "prepare", "Prepare"),
        Binding("r", "reload", "Reload", show=False),  # `?` lists it; the footer is full at 80 columns
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self,
        spec: DataSpec,
        lm: LmChoice | None = None,
        served: Served | None = None,
        documents: DocumentsChoice | None = None,
        *,
        seeds: int | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.seeds = seeds
        self.lm = lm or LmChoice()
        self.documents = documents or DocumentsChoice()  # the answers draw on these (`--docs`)
        self.served = served
        self.report: dict[str, Any] | None = None
        self.advice: dict[str, Any] | None = None
        # What the advice was computed from: the questionnaire edits the answers, the rest stays.
        self.basis: Advice | None = None
        self.probing = False
        self.profile_lines: list[str] = []
        self.edited: Answers | None = None  # answers the user set in the questionnaire, kept across reloads
        self.failed: str | None = None  # why the data could not be read: nothing can be advised or compared

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="data-pane"):
                yield Static("Reading the data...", id="data-summary")
                yield ProgressBar(id="probe-progress", total=1.0, show_eta=False)
                yield DataTable(id="labels", cursor_type="row", zebra_stripes=True)
            with Vertical(id="side"):
                with Vertical(id="advice-pane"):
                    yield Static("Weighing the options...", id="advice")
                with Vertical(id="models-pane"):
                    yield DataTable(id="models", cursor_type="row")
                    yield ProgressBar(id="prepare-progress", total=1.0, show_eta=False)
                    yield Static("", id="prepare-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#data-pane").border_title = f"Data: {self.spec.path}"
        self.query_one("#probe-progress").display = False
        self.query_one("#models-pane").border_title = "Models"
        self.query_one("#advice-pane").border_title = "Advice"
        labels = self.query_one("#labels", DataTable)
        labels.add_columns("label", "examples", "share")
        models = self.query_one("#models", DataTable)
        models.add_columns("alias", "ready", "size")
        self.query_one("#prepare-progress").display = False
        self.refresh_models()
        self.load_profile()

    # ------------------------------------------------------------------ data

    def action_reload(self) -> None:
        self.query_one("#data-summary", Static).update("Reading the data...")
        self.query_one("#labels", DataTable).clear()
        self.query_one("#advice", Static).update("Weighing the options...")
        self.report = self.advice = self.basis = None
        self.failed = None
        self.load_profile()

    def action_open_data(self) -> None:
        """Choose other data: a demo set, or a file or folder previewed before it is used."""
        from tui.screens.data import DataScreen

        self.app.push_screen(DataScreen(self.spec), self.data_chosen)

    def data_chosen(self, spec: DataSpec | None) -> None:
        if spec is None:
            return
        self.spec = spec
        self.edited = None  # other data: the questionnaire starts again from its profile
        mapped = ", ".join(f"{k}={v}" for k, v in spec.columns.items())
        self.query_one("#data-pane").border_title = f"Data: {spec.path}" + (f" ({mapped})" if mapped else "")
        self.action_reload()

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def load_profile(self) -> None:
        """The profile, the advice from the answers at once, then the advice once the probe has
        measured the data (a minute the first time, cached after)."""
        from compare.advise import advise
        from tunewise.data.task import load_task_data

        worker = get_current_worker()

        def post(message: Message) -> None:
            if not worker.is_cancelled:  # other data was chosen meanwhile: this is stale
                self.post_message(message)

        def first(advice: Advice) -> None:
            assert advice.profile is not None
            post(ProfileReady(advice.profile))
            post(AdviceReady(advice, probing=True))

        def progress(stage: str, fraction: float) -> None:
            if worker.is_cancelled:  # other data was chosen, or the app is closing: stop measuring
                raise InterruptionError("the probe was cancelled")
            post(ProbeProgressed(stage, fraction))

        try:
            data = load_task_data(self.spec)
            documents = None
            if self.documents.docs is not None:
                from tunewise.data.documents import check_questions, load_documents

                check_questions(data.train)
                documents = load_documents(self.documents.docs)
            advice = advise(data, progress=progress, before_probe=first, served=self.served, documents=documents)
            post(AdviceReady(advice))
        except InterruptionError:
            return
        except TunewiseError as exc:
            post(DataUnreadable(exc.title, exc.message))

    def _data_failed(self) -> bool:
        """Say so and return True when the data could not be read (then no key has anything to work on)."""
        if self.failed is None:
            return False
        self.notify(
            f"{self.failed}. Press o to choose other data.", title="The data could not be read", severity="error"
        )
        return True

    def action_compare(self) -> None:
        """Run the advisor's top arms and the cheapest baseline, as the advice screen's accept does."""
        self.start_comparison("recommended")

    def action_advice(self) -> None:
        """The whole advice: every option with its reasons, estimates and expected quality; the
        arms to compare and their main hyper-parameters are chosen there."""
        if self._data_failed():
            return
        if self.advice is None:
            self.notify("The advice is still being worked out", severity="warning")
            return
        from tui.screens.advice import AdviceScreen

        screen = AdviceScreen(self.advice, probing=self.probing, on_documents=self.documents.docs is not None)
        self.app.push_screen(screen, self.arms_chosen)

    def arms_chosen(self, choice: RunChoice | None) -> None:
        if choice is not None:
            self.start_comparison(choice.arms, choice.overrides)

    def start_comparison(self, arms: str, overrides: list[str] | None = None) -> None:
        """Compare `arms` on this data, into a folder of its own beside the app's working folder
        (`comparisons/<data>`); the same folder again resumes what a stop left."""
        from tui.screens.run import RunScreen
        from tunewise.ownership import COMPARISON, check_target

        if self._data_failed():
            return
        out = Path("comparisons") / Path(self.spec.path).stem
        try:
            check_target(out, COMPARISON, flag="the comparison folder")
        except TunewiseError as exc:
            self.app.push_screen(ErrorModal(exc.title, exc.message))
            return
        self.app.push_screen(RunScreen(self.comparison_plan(arms, overrides or []), out))

    def comparison_plan(self, arms: str, overrides: list[str]) -> ComparisonPlan:
        from compare.plan import ComparisonPlan

        values = self.edited.to_dict() if self.edited is not None else {}
        return ComparisonPlan(
            data=self.spec,
            arms=arms,
            overrides=overrides,
            answer_values=values,
            seeds=self.seeds,
            **self.lm.plan_fields(),
            **self.documents.plan_fields(),
        )

    def action_history(self) -> None:
        from tui.screens.results import PastComparisonsScreen

        self.app.push_screen(PastComparisonsScreen())

    @property
    def answers(self) -> Answers | None:
        """The answers the advice on show was made from."""
        return self.basis.answers if self.basis is not None else None

    def action_edit_answers(self) -> None:
        """The questionnaire, pre-filled with the answers the advice was made from."""
        if self._data_failed():
            return
        if self.basis is None:
            self.notify("The data is still being read", severity="warning")
            return
        from tui.screens.questions import QuestionsScreen

        self.app.push_screen(QuestionsScreen(self.basis.answers), self.answers_edited)

    def answers_edited(self, answers: Answers | None) -> None:
        if answers is not None:
            self.edited = answers
            self.advise_again(answers)

    def advise_again(self, answers: Answers) -> None:
        """The advice for answers the user edited, on the data's probe when it has been measured."""
        from compare.advise import advise_again

        if self.basis is None:
            return
        try:
            advice = advise_again(self.basis, answers, self.spec.path)
        except TunewiseError as exc:  # e.g. a budget no method fits: the answers are kept to edit again
            self.app.push_screen(ErrorModal(exc.title, exc.message))
            return
        self.post_message(AdviceReady(advice))

    @on(ProbeProgressed)
    def show_probe_progress(self, event: ProbeProgressed) -> None:
        self.query_one("#advice-pane").border_subtitle = f"probing the data: {event.stage} ({event.fraction:.0%})"
        bar = self.query_one("#probe-progress", ProgressBar)
        bar.display = True
        bar.update(progress=event.fraction)

    @on(ProfileReady)
    def show_profile(self, event: ProfileReady) -> None:
        self.report = report = event.report
        split, tokens = report["split"], report["token_lengths"]
        lines = [
            f"[b]task[/]      {report['task']} ({report['shape']} data)",
            f"[b]examples[/]  {report['n_examples']:,}  ({split['n_train']:,} train / {split['n_eval']:,} eval)",
            f"[b]tokens[/]    p50 {tokens['p50']}  p95 {tokens['p95']}  max {tokens['max']}  ({tokens['model']})",
            f"[b]leakage[/]   {report['leakage']['exact']} exact, {report['leakage']['near']} near",
        ]
        lines += [f"[yellow]! {w}[/]" for w in report["warnings"]]
        self.profile_lines = lines
        self.query_one("#data-summary", Static).update("\n".join(lines))
        table = self.query_one("#labels", DataTable)
        table.clear()
        for label, count in (report["labels"] or {}).items():
            table.add_row(label, f"{count:,}", f"{count / report['n_examples']:.1%}")

    @on(AdviceReady)
    def show_advice(self, event: AdviceReady) -> None:
        from tunewise.units import human_duration

        basis = event.advice
        self.advice = advice = basis.recommendation.to_dict()
        self.probing = event.probing
        self.basis = basis
        if self.edited is not None and basis.answers is not self.edited:
            self.advise_again(self.edited)  # the probe finished after the user edited the answers
            return
        pane = self.query_one("#advice-pane")
        pane.border_subtitle = "probing the data..." if event.probing else ""
        if not event.probing:
            self.query_one("#probe-progress").display = False
        lines = [f"[b]Recommended: {advice['recommended']}[/]  ({advice['hardware']})", ""]
        for row in advice["ranking"][:4]:
            mark = "" if row["feasible"] else " [red](blocked)[/]"
            expected = row.get("expected")
            quality = f"~{expected['mid']:.2f}  " if expected else ""
            lines.append(
                f"{row['method']:<9} {row['score']:>4.0f}  {quality}{human_duration(row['estimate']['hours'])}{mark}"
            )
        if advice.get("probe"):
            measured = f"[b]probe[/]     {escape(_probe_summary(advice['probe']))}"
            self.query_one("#data-summary", Static).update("\n".join([*self.profile_lines, measured]))
        top = advice["ranking"][0]
        lines += ["", *[f"+ {r['text']}" for r in top["reasons"] if r["points"] > 0][:3]]
        lines += ["", "[dim]a: the whole advice, and the arms to compare; c: compare what it advises[/]"]
        self.query_one("#advice", Static).update("\n".join(lines))

    @on(DataUnreadable)
    def show_unreadable_data(self, event: DataUnreadable) -> None:
        self.failed = event.message
        self.query_one("#data-summary", Static).update(f"[red]{escape(event.message)}[/]")
        self.query_one("#advice", Static).update("No advice: the data could not be read. Press o to choose other data.")
        self.app.push_screen(ErrorModal(event.title, event.message))

    @on(WorkFailed)
    def show_failure(self, event: WorkFailed) -> None:
        self.app.push_screen(ErrorModal(event.title, event.message))

    # ------------------------------------------------------------------ models

    def refresh_models(self) -> None:
        from tunewise.models import list_models
        from tunewise.units import human_bytes

        table = self.query_one("#models", DataTable)
        table.clear()
        for status in list_models():
            table.add_row(
                status.alias,
                "yes" if status.ready else "no",
                human_bytes(status.size_bytes),
                key=status.alias,
            )

    def action_prepare(self) -> None:
        table = self.query_one("#models", DataTable)
        if table.row_count == 0:
            return
        alias = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        bar = self.query_one("#prepare-progress", ProgressBar)
        bar.display = True
        bar.update(progress=0.0)
        self.prepare(alias)

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def prepare(self, alias: str) -> None:
        from tunewise.models import prepare_model

        def report(stage: str, fraction: float) -> None:
            self.post_message(PrepareProgressed(alias, stage, fraction))

        try:
            resolved = prepare_model(alias, progress=report)
        except TunewiseError as exc:
            self.post_message(WorkFailed(exc.title, exc.message))
            return
        self.post_message(ModelPrepared(alias, str(resolved.path)))

    @on(PrepareProgressed)
    def show_prepare_progress(self, event: PrepareProgressed) -> None:
        self.query_one("#prepare-progress", ProgressBar).update(progress=event.fraction)
        self.query_one("#prepare-status", Static).update(f"{event.model}: {event.stage}")

    @on(ModelPrepared)
    def model_prepared(self, event: ModelPrepared) -> None:
        self.query_one("#prepare-progress", ProgressBar).update(progress=1.0)
        self.query_one("#prepare-status", Static).update(f"{event.model}: ready at {event.path}")
        self.refresh_models()

    # ------------------------------------------------------------------ training

    def action_train(self) -> None:
        """Train the advice's best fine-tuning method (with its config) on this data, in a new run
        folder, even when retrieval or the head is what the advice ranks first."""
        try:
            config, resume = self.training_config()
        except TunewiseError as exc:
            self.app.push_screen(ErrorModal(exc.title, exc.message))
            return
        from tui.screens.train import TrainScreen

        self.app.push_screen(TrainScreen(config, resume=resume))

    def training_config(self) -> tuple[Any, bool]:
        from dataclasses import replace

        from harness.config import build_config
        from harness.run_folder import default_output_dir, resume_or_next

        step = (self.advice or {}).get("train_step") or {}
        values: dict[str, Any] = dict(step.get("config") or {"method": "lora"})
        values |= {"data": self.spec.path, "eval_fraction": self.spec.eval_fraction, "seed": self.spec.seed}
        if self.spec.eval_path:
            values["eval_data"] = self.spec.eval_path
        if self.spec.columns:
            values["columns"] = dict(self.spec.columns)
        config = build_config(values, source="the advice's training config")
        task = config.task or (
            "classification" if (self.report or {}).get("task") == "classification" else "generation"
        )
        base = default_output_dir(config, "classification" if task == "classification" else "generation")
        folder, resume = resume_or_next(base)  # the app never replaces a finished run
        return replace(config, output_dir=str(folder)), resume


def _probe_summary(probe: dict[str, Any]) -> str:
    """The probe's figures in one line (`tunewise recommend` prints them in full)."""
    labels, answers = probe.get("labels"), probe.get("answers")
    took = f"{probe['seconds']:.0f} s" + (", cached" if probe.get("cached") else "")
    if labels:
        curve = " > ".join(
            f"{labels['curve'][share]:.2f}" for share in ("0.25", "0.5", "1.0") if share in labels["curve"]
        )
        return (
            f"k-NN {labels['knn_accuracy']:.3f}, head {labels['head_accuracy']:.3f}, "
            f"curve {curve}, {labels['conflicts']} conflicts ({took})"
        )
    if answers:
        return (
            f"base loss {answers['base_loss']:.2f}, nearest answer F1 {answers['nearest_f1']:.2f}, "
            f"zero-shot F1 {answers['zero_shot_f1']:.2f} ({took})"
        )
    return f"measured in {took}"
