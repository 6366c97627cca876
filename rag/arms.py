"""The retrieval room's arms of a comparison, on one frozen split: `rag` (k-NN vote) and `head`.

Both read the same embeddings of the same examples, computed once (`EmbeddedSplit`). Each arm
makes its one choice on the validation slice (k of the vote; C of the head), is scored once on
the test set with the shared metric code, and returns the one result record every arm returns,
with its measured costs:

    setup_seconds          embedding the training examples + building the index or fitting the head
    setup_work_seconds     the same as work done (`tunewise.stopwatch`), which load does not stretch
    seconds_per_example    batched inference on the test set, per example
    latency_p50/p95        one example at a time, embedding included (a sample of the test set)
    disk_bytes             what the arm keeps: the index's vectors, or the head's weights
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.embed import Embedder
from rag.head import fit_head_on_vectors
from rag.index import vector_search
from rag.knn import choose_k, vote_each
from tunewise.data.protocol import FrozenSplit
from tunewise.data.shapes import Shape
from tunewise.errors import DataError
from tunewise.results import RunResult, latency_percentiles
from tunewise.stopwatch import Spent, Stopwatch


@dataclass
class EmbeddedSplit:
    """The three parts' texts, labels and unit vectors, embedded once for every arm that reads them."""

    split: FrozenSplit
    embedder: Embedder
    texts: dict[str, list[str]]
    labels: dict[str, list[str]]
    vectors: dict[str, np.ndarray]
    spent: dict[str, Spent]  # embedding each part

    @property
    def seconds(self) -> dict[str, float]:
        """Embedding each part, in wall seconds."""
        return {name: spent.wall for name, spent in self.spent.items()}

    @classmethod
    def of(cls, split: FrozenSplit, embedder: Embedder) -> EmbeddedSplit:
        if split.train.shape is not Shape.LABELLED:
            raise DataError(f"{split.train.source}: the rag and head arms classify; they need labelled examples")
        texts, labels, vectors, spent = {}, {}, {}, {}
        for name, part in split.parts().items():
            texts[name] = [str(r["text"]) for r in part.records]
            labels[name] = [str(r["label"]) for r in part.records]
            watch = Stopwatch()
            vectors[name] = embedder.encode(texts[name])
            spent[name] = watch.spent()
        return cls(split, embedder, texts, labels, vectors, spent)


def run_rag(embedded: EmbeddedSplit) -> RunResult:
    """The k-NN vote over the training examples, k chosen on validation, scored once on test."""
    watch = Stopwatch()
    train_labels = embedded.labels["train"]
    search = vector_search(embedded.vectors["train"])
    k, validation_accuracy = choose_k(
        embedded.vectors["validation"], embedded.labels["validation"], train_labels, search
    )
    setup = embedded.spent["train"] + watch.spent()

    def classify(vectors: np.ndarray) -> list[str]:
        return vote_each(*search(vectors, k), train_labels)

    config = {"k": k, "validation_accuracy": validation_accuracy, "embedding_model": embedded.embedder.info.model}
    disk = float(embedded.vectors["train"].nbytes)
    return _scored("rag", config, embedded, classify, setup, disk)


def run_head(embedded: EmbeddedSplit) -> RunResult:
    """A logistic-regression head on the same vectors, C chosen on validation, scored once on test."""
    head = fit_head_on_vectors(
        embedded.vectors["train"],
        embedded.labels["train"],
        embedded.vectors["validation"],
        embedded.labels["validation"],
    )
    weights = head.classifier.coef_.nbytes + head.classifier.intercept_.nbytes
    config = {
        "C": head.c,
        "validation_accuracy": head.validation_accuracy,
        "embedding_model": embedded.embedder.info.model,
    }
    setup = embedded.spent["train"] + embedded.spent["validation"] + head.fit
    return _scored("head", config, embedded, head.predict, setup, float(weights))


def _scored(
    arm: str, config: dict[str, Any], embedded: EmbeddedSplit, classify: Any, setup: Spent, disk: float
) -> RunResult:
    gold = embedded.labels["test"]
    started = time.perf_counter()
    predictions = classify(embedded.vectors["test"])
    batched = (embedded.seconds["test"] + time.perf_counter() - started) / max(len(gold), 1)
    # One at a time, as a service would answer, embedding included.
    latency = latency_percentiles(lambda text: classify(embedded.embedder.encode([text])), embedded.texts["test"])
    return RunResult.scored(
        arm,
        embedded.split.test,
        predictions,
        config=config,
        costs={
            **setup.costs(),
            "seconds_per_example": batched,
            **latency,
            "disk_bytes": disk,
        },
    )
