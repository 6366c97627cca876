"""The head arm on real embeddings: C chosen on validation, clearly above the majority class."""

from __future__ import annotations

from collections import Counter

import pytest

from rag.embed import Embedder
from rag.head import fit_head
from tunewise.data.protocol import freeze_split
from tunewise.data.task import DataSpec, load_task_data
from tunewise.errors import DataError


def test_head_on_the_demo_split_chooses_c_on_validation_and_beats_the_majority() -> None:
    split = freeze_split(load_task_data(DataSpec()))
    embedder = Embedder()
    head = fit_head(split.train, split.validation, embedder)
    assert head.c == max(head.validation_accuracy, key=lambda c: (head.validation_accuracy[c], -c))
    gold = [r["label"] for r in split.test.records]
    predicted = head.predict(embedder.encode([r["text"] for r in split.test.records]))
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    majority = max(Counter(gold).values()) / len(gold)
    assert accuracy > majority + 0.3, (accuracy, majority)


def test_head_needs_labelled_data() -> None:
    qa = load_task_data(DataSpec(path="demo-qa"))
    with pytest.raises(DataError, match="the head arm needs labelled examples"):
        fit_head(qa.train, qa.eval, Embedder())
