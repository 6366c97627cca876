"""`tunewise profile`: what the data is, how big, how long, and what is wrong with it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tunewise.data.task import TaskData
from tunewise.data.tokens import token_stats
from tunewise.names import default_model


def profile(data: TaskData, model: str | None = None) -> dict[str, Any]:
    """A JSON-ready description of `data`; `model` picks the tokenizer for token lengths."""
    dataset = data.dataset
    labels = dataset.labels()
    label_counts = dict(Counter(labels).most_common()) if labels is not None else None
    stats = token_stats(dataset.full_texts(), model or default_model(data.task))
    return {
        "source": dataset.source,
        "shape": dataset.shape.value,
        "task": data.task,
        "columns": dict(dataset.columns),
        "n_examples": len(dataset),
        "labels": label_counts,
        "n_labels": len(label_counts) if label_counts is not None else None,
        "empty_rows": len(dataset.empty_rows),
        "split": {
            "origin": data.eval_origin,
            "n_train": len(data.train),
            "n_eval": len(data.eval),
            "eval_fraction": data.spec.eval_fraction if data.eval_origin == "split" else None,
            "seed": data.spec.seed,
            "eval_source": data.eval.source,
        },
        "token_lengths": stats.to_dict(),
        "duplicates": {
            "exact": data.duplicates.duplicates,
            "conflicting_inputs": data.duplicates.conflicts,
            "examples": [{"first": dataset.where(a), "repeat": dataset.where(b)} for a, b in data.duplicates.examples],
        },
        "leakage": {
            "exact": data.leakage.exact,
            "near": data.leakage.near,
            "near_threshold": data.leakage.threshold,
            "search_capped": data.leakage.cap_note() or None,
            "examples": [
                {"eval": data.eval.where(e), "train": data.train.where(t), "similarity": s}
                for e, t, s in data.leakage.examples
            ],
        },
        "warnings": list(data.warnings),
    }
