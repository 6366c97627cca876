"""Trainer callbacks: progress for the command line and the app, cancelling, sealed checkpoints."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from harness.checkpoints import seal


@dataclass
class TrainProgress:
    """One report to whoever watches a run."""

    step: int
    max_steps: int
    epoch: float
    elapsed: float
    loss: float | None = None
    learning_rate: float | None = None
    eval_metrics: dict[str, float] = field(default_factory=dict)
    event: str = "step"  # step, log, eval, save

    @property
    def fraction(self) -> float:
        return self.step / self.max_steps if self.max_steps else 0.0


OnProgress = Callable[[TrainProgress], None]


class ProgressReporter(TrainerCallback):
    """Reports steps, logged losses and evaluations; stops at the next step once `cancel` is set.

    A cancelled run saves a checkpoint first, so `--resume` can pick it up later.
    """

    def __init__(self, on_progress: OnProgress | None, cancel: threading.Event | None = None) -> None:
        self.on_progress = on_progress
        self.cancel = cancel
        self.started = time.perf_counter()
        self.step_started = self.started
        self.step_seconds = 0.0
        self.cancelled = False

    def _report(self, state: Any, event: str, **values: Any) -> None:
        if self.on_progress is not None and state.is_world_process_zero:
            self.on_progress(
                TrainProgress(
                    step=state.global_step,
                    max_steps=state.max_steps,
                    epoch=float(state.epoch or 0.0),
                    elapsed=time.perf_counter() - self.started,
                    event=event,
                    **values,
                )
            )

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = time.perf_counter()

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.step_started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # Time inside optimizer steps only: the training throughput, without evaluations and saves.
        self.step_seconds += time.perf_counter() - self.step_started
        self._report(state, "step")
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled = True
            control.should_training_stop = True
            control.should_save = True

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        if "loss" in logs:
            self._report(state, "log", loss=float(logs["loss"]), learning_rate=logs.get("learning_rate"))

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kwargs: Any
    ) -> None:
        self._report(state, "eval", eval_metrics=dict(metrics or {}))


class CheckpointSealer(TrainerCallback):
    """Marks each checkpoint complete once the Trainer has written all of it.

    Flushing a checkpoint to disk takes about half a second per 300 MB here; it happens in a
    background thread so that training goes on meanwhile. A checkpoint whose flush has not
    finished is simply not sealed yet, so a crash in between falls back to the previous one.
    """

    def __init__(self) -> None:
        self.pending: list[threading.Thread] = []

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            thread = threading.Thread(target=self._seal, args=(folder,), name=f"seal-{folder.name}", daemon=True)
            thread.start()
            self.pending.append(thread)

    @staticmethod
    def _seal(folder: Path) -> None:
        # A checkpoint rotated away (save_total_limit) before it was flushed has nothing to seal, and
        # one that cannot be flushed (a full disk) stays unsealed: resuming never trusts it, and the
        # training thread meets the same full disk at its next write, where it is reported.
        with contextlib.suppress(OSError):
            seal(folder)

    def wait(self) -> None:
        """Block until every checkpoint saved so far is sealed."""
        for thread in self.pending:
            thread.join()
        self.pending.clear()
