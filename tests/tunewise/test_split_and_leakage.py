"""The train/eval split is deterministic, stratified and grouped; leakage is found, not invented."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tunewise.data.dedup import find_duplicates, find_leakage, normalise
from tunewise.data.split import split_indices
from tunewise.data.task import DataSpec, load_task_data


def _labelled(n: int, labels: list[str], seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 8))) for _ in range(3000)]
    texts = [" ".join(rng.choices(words, k=10)) for _ in range(n)]
    return texts, [labels[i % len(labels)] for i in range(n)]


def test_same_seed_same_split_different_seed_different_split() -> None:
    texts, labels = _labelled(500, ["a", "b", "c"])
    assert split_indices(texts, labels, 0.2, 7) == split_indices(texts, labels, 0.2, 7)
    assert split_indices(texts, labels, 0.2, 7) != split_indices(texts, labels, 0.2, 8)


def test_split_is_stratified_and_a_partition() -> None:
    texts, labels = _labelled(1000, ["a", "a", "a", "b", "c"])
    train, evaluation = split_indices(texts, labels, 0.2, 1)
    assert sorted(train + evaluation) == list(range(1000))
    counts, eval_counts = Counter(labels), Counter(labels[i] for i in evaluation)
    for label, total in counts.items():
        assert eval_counts[label] == round(total * 0.2)


def test_duplicates_stay_on_one_side_of_the_split() -> None:
    texts = [f"Question {i % 40}?" for i in range(200)] + [f"question {i % 40}" for i in range(40)]
    train, evaluation = split_indices(texts, None, 0.25, 3)
    train_keys = {normalise(texts[i]) for i in train}
    assert train_keys.isdisjoint({normalise(texts[i]) for i in evaluation})
    assert evaluation


def test_tiny_data_still_gets_an_eval_example_without_orphaning_a_label() -> None:
    train, evaluation = split_indices(["a x", "b y", "c z", "d w"], ["p", "p", "q", "q"], 0.2, 0)
    assert len(evaluation) == 1
    eval_label = ["p", "p", "q", "q"][evaluation[0]]
    assert eval_label in {["p", "p", "q", "q"][i] for i in train}


def test_exact_and_near_leakage_are_found() -> None:
    train = ["How do I reset my password?", "What is the weather like in Paris today?", "Order a pizza"]
    evaluation = [
        "how do I reset my PASSWORD",  # exact after normalisation
        "What is the weather like in Paris today??!",  # exact after normalisation
        "Whats the weather like in Paris today",  # near: one word contracted
        "Tell me a joke about cats",  # unrelated
    ]
    report = find_leakage(train, evaluation)
    assert (report.exact, report.near) == (2, 1)
    near = [e for e in report.examples if e[2] < 1.0]
    assert near[0][:2] == (2, 1)
    assert 0.8 <= near[0][2] < 1.0


def test_no_leakage_between_unrelated_texts() -> None:
    texts, _ = _labelled(2000, ["a"], seed=5)
    report = find_leakage(texts[:1500], texts[1500:])
    assert report.total == 0


def test_near_duplicates_are_found_at_scale() -> None:
    texts, _ = _labelled(3000, ["a"], seed=9)
    # one typo (two letters swapped) in each of 50 training texts, plus 200 unseen texts
    typos = [t[:10] + t[11] + t[10] + t[12:] for t in texts[:50] if t[10] != t[11] and " " not in t[10:12]]
    report = find_leakage(texts[:2800], typos + texts[-200:])
    assert len(typos) > 30
    assert (report.exact, report.near) == (0, len(typos))
    assert report.positions == list(range(len(typos))) and not report.capped


def _repetitive(n: int, seed: int = 0) -> list[str]:
    """Rows from an 8-word vocabulary: templated data that puts thousands of rows in one LSH bucket."""
    rng = random.Random(seed)
    vocabulary = ["please", "send", "the", "report", "today", "thanks", "team", "update"]
    return [" ".join(rng.choices(vocabulary, k=rng.randint(6, 12))) for _ in range(n)]


def test_the_search_stays_bounded_on_repetitive_data_and_says_so() -> None:
    """Quadratic before: 5k such rows did not finish in 100 s, 97k were killed at 22.8 GB."""
    rows = _repetitive(30_000)
    report = find_leakage(rows[:27_000], rows[27_000:], time_budget=60.0)
    assert report.capped and report.capped_rows > 0 and report.unchecked_rows == 0
    assert "near-duplicate search capped" in report.cap_note()
    assert report.positions == sorted(report.positions) and len(report.positions) == report.total
    # what it does report is real: every example it names is at least as similar as the threshold
    assert report.total > 0 and all(similarity >= report.threshold for *_, similarity in report.examples)


def test_the_time_budget_leaves_rows_unchecked_and_says_how_many() -> None:
    rows = _repetitive(6000, seed=1)
    report = find_leakage(rows[:5000], rows[5000:] + rows[:20], time_budget=0.0)
    assert report.near == 0 and report.unchecked_rows > 0
    assert f"{report.unchecked_rows:,} eval rows left unchecked" in report.cap_note()
    assert report.exact > 0  # exact copies are counted in full whatever the budget


def test_duplicates_and_conflicts_inside_one_set() -> None:
    report = find_duplicates(["Hi", "hi!", "Bye", "bye", "Other"], ["greet", "greet", "bye", "greet", "x"])
    assert report.duplicates == 1  # "hi!" repeats "Hi" with the same label
    assert report.conflicts == 1  # "bye" carries two labels


def test_profile_reports_leakage_from_a_users_eval_file(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("text,label\nreset my password please,a\nbook a flight to rome,b\n")
    (tmp_path / "eval.csv").write_text("text,label\nReset my password please!,a\nbook a flight to rome now,b\n")
    data = load_task_data(DataSpec(path=str(tmp_path / "train.csv"), eval_path=str(tmp_path / "eval.csv")))
    assert (data.leakage.exact, data.leakage.near) == (1, 1)
    assert any("also occur in train" in w for w in data.warnings)


@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_eval_fraction_is_honoured(fraction: float) -> None:
    texts, labels = _labelled(1000, ["a", "b"])
    _, evaluation = split_indices(texts, labels, fraction, 0)
    assert len(evaluation) == round(1000 * fraction)
