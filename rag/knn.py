"""Classification by retrieval: a similarity-weighted vote of the k nearest labelled examples.

k is tuned on the training split itself, leave-one-out: every training example is classified
by its neighbours other than itself, and the k with the best accuracy wins (the smaller k on a
tie). The eval split is never looked at. The neighbours are kept as the explanation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Search = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]
"""(scores, positions) of the k nearest stored vectors to each query vector."""


class LabelledIndex(Protocol):
    """What a vote needs of an index (`rag.index.RagIndex` is one): its search and its labelled
    records, in index order. A protocol, so that the index and the vote do not import each other."""

    @property
    def records(self) -> Sequence[Mapping[str, Any]]: ...

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


K_CANDIDATES = (1, 3, 5, 10, 20)


@dataclass(frozen=True)
class Neighbour:
    id: str
    text: str
    label: str
    score: float


@dataclass(frozen=True)
class Vote:
    label: str
    confidence: float  # the winner's share of the total vote weight
    neighbours: list[Neighbour]


def vote(labels: list[str], scores: list[float]) -> tuple[str, float]:
    """Sum similarities per label; ties go to the label of the nearer neighbour."""
    weight: dict[str, float] = defaultdict(float)
    for label, score in zip(labels, scores, strict=True):
        weight[label] += max(score, 0.0) + 1e-6
    winner = max(weight, key=lambda label: (weight[label], -labels.index(label)))
    return winner, weight[winner] / sum(weight.values())


def predict(index: LabelledIndex, vectors: np.ndarray, k: int) -> list[Vote]:
    scores, positions = index.search(vectors, k)
    votes = []
    for row_scores, row_positions in zip(scores, positions, strict=True):
        neighbours = [
            Neighbour(index.records[p]["id"], index.records[p]["text"], index.records[p]["label"], float(s))
            for s, p in zip(row_scores, row_positions, strict=True)
            if p >= 0
        ]
        label, confidence = vote([n.label for n in neighbours], [n.score for n in neighbours])
        votes.append(Vote(label, confidence, neighbours))
    return votes


def tune_k(
    vectors: np.ndarray, labels: list[str], search: Search, candidates: tuple[int, ...] = K_CANDIDATES
) -> tuple[int, dict[int, float]]:
    """Leave-one-out accuracy of each k on the indexed (training) examples themselves.

    `vectors` and `labels` are the stored examples, in index order; `search` finds their
    neighbours in the index, which holds each of them (so one extra neighbour is asked for).
    """
    usable = [k for k in candidates if k < len(labels)]
    if not usable:
        return 1, {}
    scores, positions = search(vectors, max(usable) + 1)
    accuracy: dict[int, float] = {}
    for k in usable:
        correct = 0
        for row, (row_scores, row_positions) in enumerate(zip(scores, positions, strict=True)):
            keep = [(p, s) for p, s in zip(row_positions, row_scores, strict=True) if p != row and p >= 0][:k]
            predicted, _ = vote([labels[p] for p, _ in keep], [float(s) for _, s in keep])
            correct += predicted == labels[row]
        accuracy[k] = correct / len(labels)
    best = max(usable, key=lambda k: (accuracy[k], -k))
    return best, accuracy


def choose_k(
    validation_vectors: np.ndarray,
    validation_labels: list[str],
    train_labels: list[str],
    search: Search,
    candidates: tuple[int, ...] = K_CANDIDATES,
) -> tuple[int, dict[int, float]]:
    """The k whose vote is most accurate on the validation slice (the smaller k on a tie).

    For a comparison, where every choice is made on validation: the held-out examples are
    classified by their neighbours among the training examples, which do not include them.
    """
    usable = [k for k in candidates if k <= len(train_labels)]
    scores, positions = search(validation_vectors, max(usable))
    accuracy: dict[int, float] = {}
    for k in usable:
        correct = 0
        for gold, row_scores, row_positions in zip(validation_labels, scores, positions, strict=True):
            keep = [(p, s) for p, s in zip(row_positions, row_scores, strict=True) if p >= 0][:k]
            predicted, _ = vote([train_labels[p] for p, _ in keep], [float(s) for _, s in keep])
            correct += predicted == gold
        accuracy[k] = correct / max(len(validation_labels), 1)
    best = max(usable, key=lambda k: (accuracy[k], -k))
    return best, accuracy


def vote_each(scores: np.ndarray, positions: np.ndarray, labels: list[str]) -> list[str]:
    """The voted label of each query, from a search's (scores, positions) over examples with `labels`."""
    return [
        vote([labels[p] for p in row if p >= 0], [float(s) for s, p in zip(row_scores, row, strict=True) if p >= 0])[0]
        for row_scores, row in zip(scores, positions, strict=True)
    ]
