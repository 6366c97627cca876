"""The rag and head arms on one frozen split: the same test ids, choices from validation, real costs."""

from __future__ import annotations

from collections import Counter

from rag.arms import EmbeddedSplit, run_head, run_rag
from rag.embed import Embedder
from rag.knn import K_CANDIDATES
from tunewise.data.protocol import freeze_split
from tunewise.data.task import DataSpec, load_task_data
from tunewise.results import ids_hash


def test_rag_and_head_score_the_same_test_examples_with_choices_from_validation() -> None:
    split = freeze_split(load_task_data(DataSpec()))
    embedded = EmbeddedSplit.of(split, Embedder())
    rag, head = run_rag(embedded), run_head(embedded)
    test_ids = split.ids()["test"]
    for result in (rag, head):
        assert result.eval_ids == test_ids and result.eval_hash == ids_hash(test_ids)
        assert len(result.predictions) == len(test_ids)
        costs = result.costs
        assert costs["setup_seconds"] > 0 and costs["disk_bytes"] > 0
        assert 0 < costs["latency_p50"] <= costs["latency_p95"]
    gold = [r["label"] for r in split.test.records]
    majority = max(Counter(gold).values()) / len(gold)
    assert rag.metrics["accuracy"] > majority + 0.3 and head.metrics["accuracy"] > majority + 0.3
    # Each choice is the best on validation, which the arm records; the test set played no part.
    assert rag.config["k"] in K_CANDIDATES
    assert rag.config["validation_accuracy"][rag.config["k"]] == max(rag.config["validation_accuracy"].values())
    assert head.config["validation_accuracy"][head.config["C"]] == max(head.config["validation_accuracy"].values())
