"""The harness's arms of a comparison (`full`, `lora`, `qlora`) on one frozen split.

The training part is what the model learns from and the validation slice is its eval data, so
the best epoch (and early stopping) are chosen on validation; the test set is then labelled
once, by the checkpoint kept, with the shared metric code. The parts are written as JSON Lines
into the arm's folder, so the run folder records exactly what it was trained on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.config import TrainConfig
from tunewise.data.protocol import FrozenSplit, ids_of
from tunewise.data.shapes import Dataset, Shape
from tunewise.errors import DataError
from tunewise.metrics import classification_metrics
from tunewise.results import RunResult, latency_percentiles


def _write_part(dataset: Dataset, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in dataset.records:
            handle.write(json.dumps({"text": record["text"], "label": record["label"]}, ensure_ascii=False) + "\n")
    return path


def arm_config(split: FrozenSplit, method: str, folder: Path, overrides: list[str] | None = None) -> TrainConfig:
    """The resolved training config of one arm, its parts written into `folder`: checked (and
    estimable) before anything trains."""
    from harness.config import build_config

    if split.train.shape is not Shape.LABELLED:
        raise DataError(f"{split.train.source}: compare trains classifiers so far; it needs labelled examples")
    folder.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "data": str(_write_part(split.train, folder / "train.jsonl")),
        "eval_data": str(_write_part(split.validation, folder / "validation.jsonl")),
        "task": "classification",
        "method": method,
        "seed": split.seed,
        "output_dir": str(folder / "run"),
    }
    return build_config(values, overrides, source=f"the {method} arm's config")


def run_training_arm(split: FrozenSplit, config: TrainConfig) -> RunResult:
    """Train on the split's training part, choosing on validation; label the test set once."""
    from harness.checkpoints import latest_sealed
    from harness.predict import classify, load_trained
    from harness.report import loss_points, read_log
    from harness.run_folder import RunFolder
    from harness.train import train

    method = config.method
    # An arm stopped mid-training continues from its last sealed checkpoint when run again.
    folder = RunFolder(Path(str(config.output_dir)))
    resume = folder.work.is_dir() and latest_sealed(folder.checkpoints) is not None
    started = time.perf_counter()
    outcome = train(config, resume=resume, overwrite=not resume)
    setup = time.perf_counter() - started

    train_loss, eval_loss = loss_points(read_log(outcome.run_dir / "trainer_log.jsonl"))
    trained = load_trained(outcome.run_dir)
    texts = [str(r["text"]) for r in split.test.records]
    gold = [str(r["label"]) for r in split.test.records]
    started = time.perf_counter()
    predictions = classify(trained, texts)
    batched = (time.perf_counter() - started) / max(len(texts), 1)
    latency = latency_percentiles(lambda text: classify(trained, [text]), texts)
    return RunResult(
        arm=method,
        config={**config.to_dict(), "best_checkpoint_step": outcome.metrics.get("best_checkpoint_step")},
        eval_ids=ids_of(split.test),
        predictions=predictions,
        metrics=classification_metrics(gold, predictions),
        costs={
            "setup_seconds": setup,
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
