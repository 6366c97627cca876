"""Intervals and paired tests, checked against values worked out by hand and against known coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compare.judge.statistics import bootstrap_interval, mcnemar_exact, paired_bootstrap
from tunewise.metrics import classification_metrics


def _accuracy(gold: list[str], predicted: list[str]) -> float:
    return classification_metrics(gold, predicted)["accuracy"]


@pytest.mark.parametrize(
    "only_a, only_b, expected",
    [
        (10, 0, 2 * 0.5**10),  # every disagreement goes one way
        (5, 5, 1.0),  # perfectly balanced
        (7, 3, 2 * sum(math.comb(10, k) for k in range(4)) / 2**10),  # 0.34375
        (0, 0, 1.0),  # the two arms never disagree
    ],
)
def test_mcnemar_exact_matches_the_binomial_tail(only_a: int, only_b: int, expected: float) -> None:
    both = 20  # examples both get right or both get wrong carry no information
    a = [True] * only_a + [False] * only_b + [True] * both
    b = [False] * only_a + [True] * only_b + [True] * both
    assert mcnemar_exact(a, b) == pytest.approx(expected)
    assert mcnemar_exact(b, a) == pytest.approx(expected)  # symmetric


def test_mcnemar_refuses_different_example_sets() -> None:
    with pytest.raises(ValueError, match="not the same examples"):
        mcnemar_exact([True, False], [True])


def test_bootstrap_interval_covers_the_true_accuracy_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    trials = 60
    for trial in range(trials):
        correct = rng.random(200) < 0.8  # a classifier that is right 80% of the time
        gold = ["y"] * 200
        predicted = ["y" if c else "n" for c in correct]
        interval = bootstrap_interval(gold, predicted, _accuracy, resamples=400, seed=trial)
        assert interval.low <= _accuracy(gold, predicted) <= interval.high
        covered += interval.low <= 0.8 <= interval.high
    assert covered / trials >= 0.85


def test_bootstrap_is_seeded_and_narrows_with_more_examples() -> None:
    rng = np.random.default_rng(2)
    small = ["y" if c else "n" for c in rng.random(100) < 0.7]
    large = ["y" if c else "n" for c in rng.random(2000) < 0.7]
    first = bootstrap_interval(["y"] * 100, small, _accuracy, resamples=300, seed=5)
    assert first == bootstrap_interval(["y"] * 100, small, _accuracy, resamples=300, seed=5)
    wide = first.high - first.low
    narrow = bootstrap_interval(["y"] * 2000, large, _accuracy, resamples=300, seed=5)
    assert narrow.high - narrow.low < wide / 2  # about 1/sqrt(20) of the width


def test_paired_bootstrap_separates_a_real_lead_from_noise() -> None:
    rng = np.random.default_rng(3)
    base = rng.random(300)
    better = base + 0.1 + rng.normal(0, 0.05, 300)
    noise = base + rng.normal(0, 0.05, 300)
    assert paired_bootstrap(better, base, resamples=1000) < 0.01
    assert paired_bootstrap(noise, base, resamples=1000) > 0.05
    assert paired_bootstrap(base, base) == 1.0


def test_the_fast_classification_intervals_are_the_python_ones() -> None:
    import numpy as np

    from compare.judge.statistics import bootstrap_interval, classification_intervals
    from tunewise.metrics import accuracy, macro_f1

    rng = np.random.default_rng(3)
    gold = [f"intent_{i % 13}" for i in range(400)]
    predicted = [g if rng.random() < 0.8 else f"intent_{rng.integers(15)}" for g in gold]  # two labels never gold
    fast = classification_intervals(gold, predicted, resamples=300, seed=7)
    for name, metric in (("accuracy", accuracy), ("macro_f1", macro_f1)):
        slow = bootstrap_interval(gold, predicted, metric, resamples=300, seed=7)
        assert fast[name].low == pytest.approx(slow.low, abs=1e-12)
        assert fast[name].high == pytest.approx(slow.high, abs=1e-12)
