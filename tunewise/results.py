"""One shape for the results of every arm, so that a comparison only ever reads this record."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunewise.atomic import atomic_write_json

if TYPE_CHECKING:
    from tunewise.data.shapes import Dataset


def ids_hash(ids: list[str]) -> str:
    """A fingerprint of the evaluation examples: two arms compare only on the same hash."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:16]


@dataclass
class RunResult:
    arm: str  # prompting, rag, full, lora, qlora, rag+lora
    config: dict[str, Any]
    eval_ids: list[str]
    predictions: list[Any]
    metrics: dict[str, float]
    costs: dict[str, float] = field(default_factory=dict)  # setup_seconds, seconds_per_example, disk_bytes...
    eval_hash: str = ""
    curves: dict[str, list[list[float]]] = field(default_factory=dict)  # trained arms: train/eval loss by step
    # Knowledge that arrived after the arm was built: its questions' ids, predictions and metrics,
    # and `absorb_seconds`, what taking the new documents in cost (indexing, or training again).
    later: dict[str, Any] = field(default_factory=dict)
    # A trained answer model on general questions it was not trained on (`tunewise.data.general`):
    # their ids, its predictions and metrics, for what fine-tuning cost it in general.
    general: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.eval_hash:
            self.eval_hash = ids_hash(self.eval_ids)

    @classmethod
    def scored(
        cls,
        arm: str,
        test: Dataset,
        predictions: list[Any],
        *,
        config: dict[str, Any],
        costs: dict[str, float],
        curves: dict[str, list[list[float]]] | None = None,
        more_metrics: dict[str, float] | None = None,
    ) -> RunResult:
        """An arm's result on the examples of `test` it answered, in order: every arm of a
        comparison is scored here, by the same lines (`task_metrics`)."""
        from tunewise.data.protocol import ids_of

        return cls(
            arm=arm,
            config=config,
            eval_ids=ids_of(test),
            predictions=predictions,
            metrics=task_metrics(test, predictions) | (more_metrics or {}),
            costs=costs,
            curves=curves or {},
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        atomic_write_json(path, self.to_dict())

    @staticmethod
    def is_result_file(path: Path) -> bool:
        """True if `path` holds a saved result (so writing a new one over it loses nothing else)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and {"arm", "eval_ids", "metrics"} <= data.keys()

    @classmethod
    def load(cls, path: Path) -> RunResult:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def task_metrics(test: Dataset, predictions: Sequence[Any]) -> dict[str, float]:
    """Accuracy and macro-F1 of predicted labels, or token F1, exact match and chrF of answers
    against the references: what the data's shape asks for."""
    from tunewise.data.shapes import Shape, gold_answers
    from tunewise.metrics import answer_metrics, classification_metrics

    if test.shape is Shape.LABELLED:
        return classification_metrics([str(r["label"]) for r in test.records], [str(p) for p in predictions])
    return answer_metrics([str(p) for p in predictions], gold_answers(test))


CANNOT_ABSORB = "cannot: a prompted model answers from what it learned before"


def later_record(
    questions: Dataset,
    predictions: Sequence[Any],
    *,
    absorb_seconds: float | None,
    absorbs: str,
    more_metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`RunResult.later`: what an arm scored on questions about knowledge that arrived after it
    was built, and what taking that knowledge in costs it (`absorb_seconds`, None where it cannot:
    a prompted model knows what it knows), said in words (`absorbs`)."""
    answered = answers_record(questions, predictions)
    answered["metrics"] |= more_metrics or {}
    return answered | {"absorb_seconds": absorb_seconds, "absorbs": absorbs}


def answers_record(questions: Dataset, predictions: Sequence[Any]) -> dict[str, Any]:
    """Questions beside the test set that an arm answered: their ids, its answers, their metrics."""
    from tunewise.data.protocol import ids_of

    return {
        "eval_ids": ids_of(questions),
        "predictions": [str(p) for p in predictions],
        "metrics": task_metrics(questions, predictions),
    }


LATENCY_SAMPLE = 50  # examples timed one at a time: enough for a stable median and 95th percentile


def latency_percentiles(call: Callable[[Any], object], items: Sequence[Any]) -> dict[str, float]:
    """`latency_p50` and `latency_p95` in seconds of `call` on each of the first `LATENCY_SAMPLE` items, alone."""
    latencies = []
    for item in items[:LATENCY_SAMPLE]:
        started = time.perf_counter()
        call(item)
        latencies.append(time.perf_counter() - started)
    if not latencies:
        return {"latency_p50": 0.0, "latency_p95": 0.0}
    return {
        "latency_p50": float(np.percentile(latencies, 50)),
        "latency_p95": float(np.percentile(latencies, 95)),
    }


def one_at_a_time(call: Callable[[Any], Any], items: Sequence[Any]) -> tuple[list[Any], dict[str, float]]:
    """`call` on each item alone, and the costs that gives for free: every call is a batch-1
    latency, so `seconds_per_example`, `latency_p50` and `latency_p95` come from the same pass."""
    outputs, seconds = [], []
    for item in items:
        started = time.perf_counter()
        outputs.append(call(item))
        seconds.append(time.perf_counter() - started)
    if not seconds:
        return outputs, {"seconds_per_example": 0.0, "latency_p50": 0.0, "latency_p95": 0.0}
    return outputs, {
        "seconds_per_example": float(np.mean(seconds)),
        "latency_p50": float(np.percentile(seconds, 50)),
        "latency_p95": float(np.percentile(seconds, 95)),
    }
