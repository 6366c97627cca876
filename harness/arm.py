"""The harness's arms of a comparison (`full`, `lora`, `qlora`) on one frozen split.

The training part is what the model learns from and the validation slice is its eval data, so
the best epoch (and early stopping) are chosen on validation; the test set is then labelled
once, by the checkpoint kept, with the shared metric code. The parts are written as JSON Lines
into the arm's folder, so the run folder records exactly what it was trained on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import TrainConfig
from tunewise.data.protocol import FrozenSplit
from tunewise.data.shapes import Dataset, Shape, answer_token_budget
from tunewise.errors import DataError, InterruptionError
from tunewise.results import LATENCY_SAMPLE, RunResult, answers_record, latency_percentiles, later_record
from tunewise.stopwatch import Stopwatch

if TYPE_CHECKING:
    from harness.callbacks import TrainProgress

TRAINABLE_SHAPES = (Shape.LABELLED, Shape.PROMPT_COMPLETION, Shape.CHAT, Shape.QA)
GENERATION_LATENCY_SAMPLE = 10
# Given the seconds training took: the later questions as the model is to see them, the seconds
# taking the later knowledge in costs this arm (None: it cannot), and how it does, in words.
LaterQuestions = Callable[[float], tuple[Dataset, float | None, str]]


def _write_part(dataset: Dataset, path: Path) -> Path:
    """The part's records as JSON Lines, in their canonical columns (which say their shape)."""
    with open(path, "w", encoding="utf-8") as handle:
        for record in dataset.records:
            if dataset.shape is Shape.LABELLED:
                record = {"text": record["text"], "label": record["label"]}
            handle.write(json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False) + "\n")
    return path


def arm_config(
    split: FrozenSplit,
    method: str,
    folder: Path,
    overrides: list[str] | None = None,
    advised: dict[str, Any] | None = None,
    *,
    seed_offset: int = 0,
) -> TrainConfig:
    """The resolved training config of one arm, its parts written into `folder`: checked (and
    estimable) before anything trains. `advised` (the advisor's learning rate, epochs, batch and
    rank for this data) fills what the harness would default; `overrides` win over both.
    `seed_offset`: another training seed, counted from the config's own (a seed `--set` names
    included), so that each of several runs has its own."""
    from harness.config import MAX_SEED, build_config

    if split.train.shape not in TRAINABLE_SHAPES:
        raise DataError(
            f"{split.train.source}: {split.train.shape.value} data cannot be trained on; give labelled examples, "
            "prompt/completion pairs, chat messages or questions with answers"
        )
    folder.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "data": str(_write_part(split.train, folder / "train.jsonl")),
        "eval_data": str(_write_part(split.validation, folder / "validation.jsonl")),
        "task": "classification" if split.train.shape is Shape.LABELLED else "generation",
        **({} if split.train.shape is Shape.LABELLED else {"max_new_tokens": answer_token_budget(split.train)}),
        "method": method,
        "seed": split.seed,
        "output_dir": str(folder / "run"),
        **(advised or {}),
    }
    config = build_config(values, overrides, source=f"the {method} arm's config")
    config.seed = (config.seed + seed_offset) % (MAX_SEED + 1)
    return config


def run_training_arm(
    split: FrozenSplit,
    config: TrainConfig,
    test: Dataset | None = None,
    *,
    on_progress: Callable[[TrainProgress], None] | None = None,
    cancel: threading.Event | None = None,
    later: LaterQuestions | None = None,
    general: Dataset | None = None,
) -> RunResult:
    """Train on the split's training part, choosing on validation; label or answer `test` (the
    frozen test set, or the comparison's sample of it) once. `cancel` stops training at the next
    step with a checkpoint (an `InterruptionError`: running the arm again resumes). `later`, given
    the training's seconds, hands over questions on knowledge that arrived after training, as
    the model is to see them, with what absorbing that knowledge costs: they are answered after
    the test set, into `RunResult.later`. `general`: questions from another domain, answered into
    `RunResult.general` (what training cost the model in general)."""
    from harness.checkpoints import latest_sealed
    from harness.predict import classify, generate_answers, load_trained
    from harness.report import loss_points, read_log
    from harness.run_folder import RunFolder
    from harness.train import train

    method = config.method
    # An arm stopped mid-training continues from its last sealed checkpoint when run again.
    folder = RunFolder(Path(str(config.output_dir)))
    resume = folder.work.is_dir() and latest_sealed(folder.checkpoints) is not None
    watch = Stopwatch()
    outcome = train(config, resume=resume, overwrite=not resume, on_progress=on_progress, cancel=cancel)
    setup, work = watch.wall, watch.work
    if outcome.status == "cancelled":
        raise InterruptionError(f"the {method} arm was stopped with a checkpoint; run the comparison again to resume")

    train_loss, eval_loss = loss_points(read_log(outcome.run_dir / "trainer_log.jsonl"))
    trained = load_trained(outcome.run_dir)
    test = test if test is not None else split.test
    records = test.records

    def answers_to(dataset: Dataset) -> Callable[[list[dict[str, Any]]], list[str]]:
        if dataset.shape is Shape.LABELLED:
            return lambda batch: classify(trained, [str(r["text"]) for r in batch])
        return lambda batch: generate_answers(
            trained.model, trained.tokenizer, dataset.shape, batch, config.max_new_tokens
        )

    answer = answers_to(test)
    # A generation takes seconds on a CPU: fewer of them are timed alone.
    sample = LATENCY_SAMPLE if test.shape is Shape.LABELLED else GENERATION_LATENCY_SAMPLE
    started = time.perf_counter()
    predictions = answer(records)
    batched = (time.perf_counter() - started) / max(len(records), 1)
    latency = latency_percentiles(lambda record: answer([record]), records[:sample])
    evaluation = outcome.metrics.get("eval", {})
    result = RunResult.scored(
        method,
        test,
        predictions,
        config={
            **config.to_dict(),
            "best_checkpoint_step": outcome.metrics.get("best_checkpoint_step"),
            "resumed": resume,  # its set-up then counts only what ran after the checkpoint
        },
        more_metrics={"eval_loss": float(evaluation["loss"])} if "loss" in evaluation else None,
        costs={
            "setup_seconds": setup,
            "setup_work_seconds": work,
            "seconds_per_example": batched,
            **latency,
            "disk_bytes": float(outcome.metrics.get("model_bytes", 0)),
            "peak_rss_bytes": float(outcome.metrics.get("peak_rss_bytes", 0)),
            **(
                {"peak_gpu_bytes": float(outcome.metrics["peak_gpu_bytes"])}
                if "peak_gpu_bytes" in outcome.metrics
                else {}
            ),
            "trainable_params": float(outcome.metrics.get("trainable_params", 0)),
        },
        curves={"train_loss": [[s, v] for s, v in train_loss], "eval_loss": [[s, v] for s, v in eval_loss]},
    )
    if later is not None:
        questions, absorb_seconds, absorbs = later(setup)
        result.later = later_record(
            questions, answers_to(questions)(questions.records), absorb_seconds=absorb_seconds, absorbs=absorbs
        )
    if general is not None and test.shape is not Shape.LABELLED:
        result.general = answers_record(general, answers_to(general)(general.records))
    return result
