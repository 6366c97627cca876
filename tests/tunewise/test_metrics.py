"""The shared metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from tunewise.metrics import (
    accuracy,
    answer_metrics,
    exact_match,
    macro_f1,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    retrieval_metrics,
    token_f1,
)


def test_accuracy_and_macro_f1() -> None:
    gold = ["a", "a", "b", "c"]
    predicted = ["a", "b", "b", "b"]
    assert accuracy(gold, predicted) == 0.5
    # a: P=1 R=.5 F=2/3; b: P=1/3 R=1 F=.5; c: F=0 -> mean 7/18
    assert macro_f1(gold, predicted) == pytest.approx(7 / 18)
    with pytest.raises(ValueError):
        accuracy(gold, predicted[:2])


def test_retrieval_metrics() -> None:
    ranked = ["d3", "d1", "d9", "d2"]
    relevant = {"d1": 1.0, "d2": 1.0, "d7": 1.0}
    assert recall_at_k(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranked, relevant) == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 10) == pytest.approx(dcg / idcg)
    metrics = retrieval_metrics([ranked, ["d7"]], [relevant, {"d7": 2.0}], ks=(1, 10))
    assert metrics["recall@1"] == pytest.approx((0 + 1) / 2)
    assert metrics["mrr"] == pytest.approx((0.5 + 1) / 2)
    assert metrics["ndcg@10"] == pytest.approx((dcg / idcg + 1) / 2)


def test_answer_metrics_use_squad_normalisation() -> None:
    assert exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert token_f1("in Paris, France", ["Paris"]) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert token_f1("London", ["Paris", "london"]) == 1.0
    scores = answer_metrics(["Paris", "no idea"], [["Paris"], ["Rome"]])
    assert scores["exact_match"] == 0.5 and scores["token_f1"] == 0.5
    assert 0.5 < scores["chrf"] < 0.6  # "Paris" scores 1; "no idea" shares a few characters with "Rome"


def test_chrf_credits_a_near_miss_that_exact_match_does_not() -> None:
    from tunewise.metrics import chrf

    assert chrf("Paris", ["Paris"]) == pytest.approx(1.0)
    near = chrf("Paris, France", ["Paris"])
    assert 0.3 < near < 1.0 and exact_match("Paris, France", ["Paris"]) == 0.0
    assert chrf("the capitals", ["the capital"]) > chrf("a city", ["the capital"])
    assert chrf("Rome", ["Paris", "Rome"]) == pytest.approx(1.0)  # the best of several answers
