"""The frozen split: three disjoint parts, stratified validation, stable ids, a content fingerprint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import shared_path
from tunewise.data.dedup import normalise
from tunewise.data.protocol import fingerprint, freeze_split, ids_of
from tunewise.data.task import DataSpec, load_task_data
from tunewise.errors import DataError


def _labelled(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows))
    return path


def test_demo_parts_are_disjoint_cover_the_data_and_keep_the_standard_test_set() -> None:
    data = load_task_data(DataSpec())
    split = freeze_split(data)
    ids = split.ids()
    assert len(ids["test"]) == len(data.eval) and split.test is data.eval  # the standard split, untouched
    assert all(len(set(part)) == len(part) for part in ids.values())  # one id per example
    assert set(ids["train"]).isdisjoint(ids["validation"]) and set(ids["train"]).isdisjoint(ids["test"])
    assert sorted(ids["train"] + ids["validation"]) == sorted(ids_of(data.train))
    assert 0.07 < len(split.validation) / len(data.train) < 0.13
    # No input straddles train and validation, even as a duplicate.
    train_inputs = {normalise(t) for t in split.train.inputs()}
    assert not train_inputs & {normalise(t) for t in split.validation.inputs()}


def test_validation_is_stratified(tmp_path: Path) -> None:
    rows = [(f"{word} sample {i}", word) for word, count in (("alpha", 300), ("beta", 100)) for i in range(count)]
    data = load_task_data(DataSpec(path=str(_labelled(tmp_path / "d.csv", rows))))
    split = freeze_split(data, validation_fraction=0.2)
    shares = Counter(split.validation.labels())
    assert shares["alpha"] / shares["beta"] == pytest.approx(3.0, rel=0.15)


def test_the_same_seed_freezes_the_same_split_and_another_seed_does_not() -> None:
    data = load_task_data(DataSpec())
    first, again, other = freeze_split(data), freeze_split(data), freeze_split(data, seed=7)
    assert first.ids() == again.ids() and first.test_hash == again.test_hash
    assert first.ids()["validation"] != other.ids()["validation"]
    assert first.test_hash == other.test_hash  # validation moved; the test set did not


def test_the_fingerprint_changes_with_the_content_not_only_the_ids(tmp_path: Path) -> None:
    rows = [(f"the meal was {w} {i}", label) for i in range(10) for w, label in (("great", "pos"), ("awful", "neg"))]
    train = _labelled(tmp_path / "train.csv", rows)
    test = _labelled(tmp_path / "test.csv", [("what a lovely dinner", "pos"), ("a dreadful lunch", "neg")])
    before = fingerprint(load_task_data(DataSpec(path=str(train), eval_path=str(test))).eval)
    _labelled(test, [("what a lovely dinner", "neg"), ("a dreadful lunch", "neg")])  # one label edited
    after = fingerprint(load_task_data(DataSpec(path=str(train), eval_path=str(test))).eval)
    assert before != after


def test_a_bad_fraction_and_too_little_data_are_refused(tmp_path: Path) -> None:
    data = load_task_data(DataSpec())
    with pytest.raises(DataError, match="--validation-fraction must be between 0 and 1"):
        freeze_split(data, validation_fraction=1.0)
    tiny = _labelled(tmp_path / "tiny.csv", [("a", "x"), ("b", "y")])  # one example per label: none to spare
    test = _labelled(tmp_path / "t.csv", [("d", "x"), ("e", "y")])
    with pytest.raises(DataError, match="too few to hold out a validation slice"):
        freeze_split(load_task_data(DataSpec(path=str(tiny), eval_path=str(test))))


def test_banking77_test_split_is_the_test_set() -> None:
    root = shared_path("banking77")
    data = load_task_data(DataSpec(path=str(root / "train.csv"), eval_path=str(root / "test.csv")))
    split = freeze_split(data)
    assert len(split.test) == 3080
    assert len(split.train) + len(split.validation) == len(data.train)
    assert len(set(split.validation.labels() or [])) == 77  # every intent can be chosen on
