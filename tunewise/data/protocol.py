"""The frozen split of a comparison: train, validation and test, fixed before any arm runs.

Fair by construction: test is the user's eval file, or the standard seeded split of the data
(`load_task_data`); validation is a stratified slice of train that every arm uses for all of its
choices (epochs and the best checkpoint, k of the k-NN vote, a head's regularisation, a prompt);
test is scored once per arm, after those choices. The ids of the three parts and a fingerprint
of the test set (ids and contents) are stored with the results, so a comparison can prove that
every arm scored the same examples.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tunewise.data.shapes import Dataset, input_text, target_text
from tunewise.data.split import DEFAULT_SEED, split_indices
from tunewise.data.task import TaskData
from tunewise.errors import DataError

DEFAULT_VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class FrozenSplit:
    train: Dataset  # what arms learn from (index, head, weights)
    validation: Dataset  # what arms choose with
    test: Dataset  # what arms are scored on, once
    validation_fraction: float
    seed: int

    @property
    def test_hash(self) -> str:
        return fingerprint(self.test)

    def ids(self) -> dict[str, list[str]]:
        """The ids of each part: where each example came from (`file:line`)."""
        return {name: ids_of(part) for name, part in self.parts().items()}

    def test_sample(self, size: int) -> Dataset:
        """A seeded sample of `size` test examples (all of them when `size` is 0 or at least the
        test set), in test order: the one sample every slow arm is scored on, so those arms
        compare with each other, and with the rest, on the same examples."""
        return sample_of(self.test, size, self.seed)

    def validation_sample(self, size: int) -> Dataset:
        """A seeded sample of the validation slice, for arms whose every choice costs a model pass."""
        return sample_of(self.validation, size, self.seed)

    def parts(self) -> dict[str, Dataset]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def to_dict(self) -> dict[str, Any]:
        return {
            "validation_fraction": self.validation_fraction,
            "seed": self.seed,
            "sizes": {name: len(part) for name, part in self.parts().items()},
            "test_hash": self.test_hash,
            "ids": self.ids(),
        }


def sample_of(dataset: Dataset, size: int, seed: int) -> Dataset:
    """A seeded sample of `size` examples of `dataset` in its order (all of them when `size` is 0 or more)."""
    if size <= 0 or size >= len(dataset):
        return dataset
    import numpy as np

    chosen = np.random.default_rng(seed).choice(len(dataset), size=size, replace=False)
    return dataset.subset(sorted(int(position) for position in chosen))


def ids_of(dataset: Dataset) -> list[str]:
    """One id per example: `file:line`, or `file#row` where one file holds many examples without
    lines of their own (a built-in data set, a folder of documents)."""
    if dataset.table.row_sources is None:
        return [dataset.where(position) for position in range(len(dataset))]
    return [f"{dataset.where(position)}#{row}" for position, row in enumerate(dataset.indices)]


def fingerprint(dataset: Dataset) -> str:
    """A hash of the examples themselves (id, input and target), not only of their ids: an edited
    test file with the same line numbers is a different test set."""
    digest = hashlib.sha256()
    for example_id, record in zip(ids_of(dataset), dataset.records, strict=True):
        row = [example_id, input_text(dataset.shape, record), target_text(dataset.shape, record)]
        digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def freeze_split(
    data: TaskData, validation_fraction: float = DEFAULT_VALIDATION_FRACTION, seed: int = DEFAULT_SEED
) -> FrozenSplit:
    """Carve a stratified validation slice out of `data.train`; `data.eval` is the test set.

    The slice uses the same grouping as the train/eval split, so an example and its exact
    duplicates never straddle train and validation.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise DataError(f"--validation-fraction must be between 0 and 1 (exclusive), got {validation_fraction}")
    train = data.train
    labels = train.labels()
    keep, held = split_indices(train.inputs(), labels, validation_fraction, seed)
    if not held:
        raise DataError(
            f"{train.source}: {len(train):,} training examples are too few to hold out a validation slice; "
            "give more data"
        )
    return FrozenSplit(train.subset(keep), train.subset(held), data.eval, validation_fraction, seed)
