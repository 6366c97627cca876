"""The training screen: one run of the harness, with live progress, the loss, and a stop key.

The run happens in a worker thread through the same `harness.train.train` the command line
calls; stopping saves a checkpoint, so the run can be resumed from here or with `--resume`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Header, ProgressBar, RichLog, Static

from tui.messages import TrainFinished, TrainProgressed, TrainStageChanged, WorkFailed
from tui.screens.error_modal import ErrorModal
from tui.screens.stoppable import StoppableWork
from tui.widgets.loss_chart import LossChart
from tunewise.errors import TunewiseError
from tunewise.metrics import metrics_line

if TYPE_CHECKING:
    from harness.config import TrainConfig


class TrainScreen(StoppableWork):
    STAGE_ID = "train-stage"
    WHAT = "Training"

    def __init__(self, config: TrainConfig, *, resume: bool = False) -> None:
        super().__init__()
        self.config = config
        self.resume = resume
        self.losses: list[float] = []
        self.outcome: TrainFinished | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="train-pane"):
            yield Static(self._describe(), id="train-config")
            yield Static("Starting...", id="train-stage")
            yield ProgressBar(id="train-progress", total=1.0, show_eta=True)
            yield LossChart(id="train-loss")
            yield Static("", id="train-result")
            yield RichLog(id="train-log", markup=True)
        yield Footer(compact=True, show_command_palette=False)

    def _describe(self) -> str:
        c = self.config
        lr = f"{c.learning_rate:g}" if c.learning_rate is not None else "default"
        adapters = f"  r {c.lora_r}, alpha {c.lora_alpha}" if c.method != "full" else ""
        return (
            f"[b]{c.method}[/] on {c.base_model or 'the default model'}  ·  data {c.data}  ·  "
            f"{c.num_train_epochs:g} epochs, batch {c.per_device_train_batch_size}, lr {lr}{adapters}"
        )

    def on_mount(self) -> None:
        self.query_one("#train-pane").border_title = "Training" + (" (resumed)" if self.resume else "")
        self.running = True
        self.run_training()

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def run_training(self) -> None:
        from harness.callbacks import TrainProgress
        from harness.train import train

        def progressed(progress: TrainProgress) -> None:
            self.post_message(TrainProgressed(progress))

        def staged(stage: str) -> None:
            self.post_message(TrainStageChanged(stage))

        try:
            outcome = train(
                self.config, resume=self.resume, on_progress=progressed, on_stage=staged, cancel=self.cancel
            )
        except TunewiseError as exc:
            self.post_message(WorkFailed(exc.title, exc.message))
            return
        except Exception as exc:  # a bug: show it rather than lose it in a thread
            self.post_message(WorkFailed("Internal error", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(TrainFinished(outcome.status, str(outcome.run_dir), outcome.metrics))

    @on(TrainStageChanged)
    def show_stage(self, event: TrainStageChanged) -> None:
        self.query_one("#train-stage", Static).update(f"{event.stage}...")

    @on(TrainProgressed)
    def show_progress(self, event: TrainProgressed) -> None:
        p: Any = event.progress
        self.query_one("#train-progress", ProgressBar).update(progress=p.fraction)
        log = self.query_one("#train-log", RichLog)
        if p.event == "log" and p.loss is not None:
            self.losses.append(p.loss)
            self.query_one("#train-loss", LossChart).add(p.step, p.loss)
            log.write(f"step {p.step}/{p.max_steps}  epoch {p.epoch:.2f}  loss {p.loss:.4f}")
        elif p.event == "eval":
            log.write(f"[b]eval at step {p.step}[/]: {metrics_line(p.eval_metrics)}")

    @on(TrainFinished)
    def show_result(self, event: TrainFinished) -> None:
        self.running = False
        self.outcome = event
        stage = self.query_one("#train-stage", Static)
        if event.status == "cancelled":
            stage.update(f"[yellow]Stopped.[/] A checkpoint is in {event.run_dir}; resume with --resume.")
            return
        self.query_one("#train-progress", ProgressBar).update(progress=1.0)
        scores = metrics_line(event.metrics.get("eval", {}), bold=True)
        stage.update(f"[green]Finished.[/] Run folder: {event.run_dir}")
        self.query_one("#train-result", Static).update(
            f"{scores}\n{event.metrics.get('train_samples_per_second', 0):.1f} samples/s, "
            f"{event.metrics.get('train_tokens_per_second', 0):.0f} tokens/s, "
            f"{event.metrics.get('train_seconds', 0):.0f} s"
        )

    @on(WorkFailed)
    def show_failure(self, event: WorkFailed) -> None:
        self.running = False
        self.query_one("#train-stage", Static).update(f"[red]{event.message}[/]")
        self.app.push_screen(ErrorModal(event.title, event.message))
