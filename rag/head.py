"""The `head` arm: a logistic-regression head on the frozen encoder's sentence embeddings.

The classic strong baseline for text classification: the same unit vectors the retrieval arm
indexes, and a linear classifier on top, trained in seconds on a CPU. Its one choice, the
inverse regularisation strength C, is made on the validation slice and never on the test set;
the head kept is the one fit on the training part with that C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.embed import Embedder
from tunewise.data.shapes import Dataset, Shape
from tunewise.errors import DataError
from tunewise.stopwatch import Spent, Stopwatch

# Inverse regularisation strengths tried on the validation slice, weakest penalty last.
C_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)
MAX_ITER = 2000


@dataclass
class LinearHead:
    """A fitted head: the classifier, the C chosen on validation, and each C's validation accuracy."""

    classifier: Any  # sklearn.linear_model.LogisticRegression
    c: float
    validation_accuracy: dict[float, float] = field(default_factory=dict)
    fit: Spent = field(default_factory=Spent)  # choosing C and fitting, in one thread: its CPU time is its work

    @property
    def fit_seconds(self) -> float:
        return self.fit.wall

    def predict(self, vectors: np.ndarray) -> list[str]:
        # No thread limit here: a prediction is one small matrix product, and changing the
        # limits on every call (torch's OpenMP pool included) cost more than it saved.
        return [str(label) for label in self.classifier.predict(vectors)]


def one_thread() -> Any:
    """Run scikit-learn's BLAS and OpenMP on one thread.

    Their thread pools are not torch's: after a multi-threaded fit they spin beside torch's own
    threads and slowed the next one-sentence embedding from 10 ms to 20 ms on an idle 2-core
    machine and to 500 ms on a busy one. On one thread the BANKING77-sized fit was also faster
    (0.64 s against 1.52 s), the problem being too small to share.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _labelled(data: Dataset, part: str) -> tuple[list[str], list[str]]:
    if data.shape is not Shape.LABELLED:
        raise DataError(f"{data.source}: the head arm needs labelled examples (text and label columns)")
    if not data.records:
        raise DataError(f"{data.source}: the {part} part is empty")
    return [str(r["text"]) for r in data.records], [str(r["label"]) for r in data.records]


def fit_head(
    train: Dataset, validation: Dataset, embedder: Embedder, *, grid: tuple[float, ...] = C_GRID, seed: int = 42
) -> LinearHead:
    """Embed both parts, choose C by validation accuracy, and keep the head fit on `train` with it."""
    train_texts, train_labels = _labelled(train, "training")
    validation_texts, validation_labels = _labelled(validation, "validation")
    if len(set(train_labels)) < 2:
        raise DataError(f"{train.source}: the training part has a single label; the head needs at least two")
    vectors = embedder.encode(train_texts), embedder.encode(validation_texts)
    return fit_head_on_vectors(vectors[0], train_labels, vectors[1], validation_labels, grid=grid, seed=seed)


def fit_head_on_vectors(
    train_vectors: np.ndarray,
    train_labels: list[str],
    validation_vectors: np.ndarray,
    validation_labels: list[str],
    *,
    grid: tuple[float, ...] = C_GRID,
    seed: int = 42,
) -> LinearHead:
    """The head from vectors already embedded (the retrieval arm's, when both arms run)."""
    from sklearn.linear_model import LogisticRegression

    watch = Stopwatch()

    def fitted(c: float) -> Any:
        return LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed).fit(train_vectors, train_labels)

    accuracy: dict[float, float] = {}
    best: tuple[float, Any] | None = None
    with one_thread():
        for c in grid:
            classifier = fitted(c)
            accuracy[c] = float(np.mean(classifier.predict(validation_vectors) == np.asarray(validation_labels)))
            if best is None or accuracy[c] > accuracy[best[0]]:  # ties keep the stronger penalty
                best = (c, classifier)
    assert best is not None
    return LinearHead(best[1], best[0], accuracy, Spent(watch.wall, watch.cpu))
