"""The probe of labelled data: how far frozen sentence embeddings already get, and how fast
a linear read-out of them still learns.

Two cheap classifiers bracket what the comparison's arms will do. The k-NN vote is the `rag`
arm itself, scored leave-one-out on the training examples; the cross-validated logistic
regression is the `head` arm. Where the two agree, the embedding's notion of similarity already
follows the labels; where the head is far above the vote, the labels live in directions that
similarity ignores, which fine-tuning the encoder can bring forward. The head's learning curve
says whether more training signal still pays.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from tunewise.data.shapes import Dataset
from tunewise.names import Progress

FOLDS = 3
CURVE = (0.25, 0.5, 1.0)  # shares of each fold's training part the head learns from
PROBE_C_GRID = (1.0, 10.0, 100.0)  # chosen on the first fold: the head arm's grid, less its extremes
NEAR_DUPLICATE = 0.98  # cosine similarity above which two texts say the same thing


def measure_labels(data: Dataset, embedder_name: str, *, seed: int, progress: Progress | None = None) -> Any:
    """`LabelSignals` for `data` (labelled examples)."""
    from rag.embed import Embedder
    from rag.index import vector_search
    from rag.knn import tune_k
    from tunewise.probes import LabelSignals

    texts = [str(r["text"]) for r in data.records]
    labels = [str(r["label"]) for r in data.records]
    report = progress or (lambda _stage, _done: None)
    report("embedding the examples", 0.0)
    vectors = Embedder(embedder_name).encode(texts)
    report("k-nearest neighbours, leave-one-out", 0.5)
    search = vector_search(vectors)
    k, knn = tune_k(vectors, labels, search)
    conflicts = _conflicts(vectors, labels, texts, search)
    report("linear head, cross-validated", 0.6)
    head, c, curve, folds = _cross_validated_head(vectors, labels, seed)
    report("done", 1.0)
    counts = dict(Counter(labels).most_common())
    return LabelSignals(
        n_labels=len(counts),
        counts=counts,
        majority_share=round(max(counts.values()) / len(labels), 4),
        knn_accuracy=round(knn.get(k, 0.0), 4),
        knn_k=k,
        head_accuracy=round(head, 4),
        head_c=c,
        curve={str(share): round(accuracy, 4) for share, accuracy in curve.items()},
        conflicts=conflicts,
        folds=folds,
    )


def _conflicts(vectors: np.ndarray, labels: list[str], texts: list[str], search: Any) -> int:
    """Examples with a near-duplicate (or the same text) that carries another label: noise no
    model can learn past, and a ceiling on every arm."""
    by_text: dict[str, set[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        by_text.setdefault(" ".join(text.lower().split()), set()).add(label)
    conflicting = 0
    scores, positions = search(vectors, 2)
    for row, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if len(by_text[" ".join(text.lower().split())]) > 1:
            conflicting += 1
            continue
        for score, position in zip(scores[row], positions[row], strict=True):
            if position not in (row, -1) and score >= NEAR_DUPLICATE and labels[position] != label:
                conflicting += 1
                break
    return conflicting


def _cross_validated_head(
    vectors: np.ndarray, labels: list[str], seed: int
) -> tuple[float, float, dict[float, float], int]:
    """The head's accuracy over `FOLDS` folds (C chosen on the first), and its learning curve."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold

    from rag.head import MAX_ITER, one_thread

    y = np.asarray(labels)
    smallest = min(Counter(labels).values())
    splitter: Any = (
        StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        if smallest >= FOLDS
        else KFold(FOLDS, shuffle=True, random_state=seed)
    )
    folds = list(splitter.split(vectors, y))
    rng = np.random.default_rng(seed)

    def accuracy(train: np.ndarray, held: np.ndarray, c: float) -> float:
        if len(set(y[train])) < 2:  # a tiny share of a tiny set: a single label says nothing
            return float(np.mean(y[held] == y[train][0]))
        model = LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed).fit(vectors[train], y[train])
        return float(np.mean(model.predict(vectors[held]) == y[held]))

    with one_thread():
        first_train, first_held = folds[0]
        by_c = {c: accuracy(first_train, first_held, c) for c in PROBE_C_GRID}
        c = max(PROBE_C_GRID, key=lambda value: (by_c[value], -value))  # ties keep the stronger penalty
        curve: dict[float, list[float]] = {share: [] for share in CURVE}
        for index, (train, held) in enumerate(folds):
            order = rng.permutation(train)
            for share in CURVE:
                if share == 1.0 and index == 0:
                    curve[share].append(by_c[c])
                    continue
                part = order[: max(2, round(share * len(train)))]
                curve[share].append(accuracy(part, held, c))
    means = {share: float(np.mean(values)) for share, values in curve.items()}
    return means[1.0], c, means, len(folds)
