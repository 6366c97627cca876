"""Packing for instruction tuning: rows filled to `max_length` with several whole examples.

Short examples padded to a batch's longest waste little, but a step of eight 100-token examples
still carries 800 tokens where the hardware could take eight full rows. Packing puts whole
examples into bins of at most `max_length` tokens (first-fit decreasing: a few percent from the
fewest bins possible), and each bin is one row of the batch whose positions restart at every
example. transformers reads restarting positions as separate sequences and masks attention
across them, so no example sees another; the first label of each example is masked,
so no example learns to predict the start of the next.
"""

from __future__ import annotations

from typing import Any

from harness.tokenize import IGNORE


def pack(lengths: list[int], max_length: int) -> list[list[int]]:
    """Example indices grouped into bins whose lengths sum to at most `max_length`; each index once.

    First-fit decreasing, in the examples' order among equals so that a seed gives the same bins.
    An example longer than `max_length` (never, once tokenised with that cap) gets a bin of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    room: list[int] = []
    for index in order:
        size = lengths[index]
        for b, left in enumerate(room):
            if size <= left:
                bins[b].append(index)
                room[b] -= size
                break
        else:
            bins.append([index])
            room.append(max_length - size)
    return [sorted(b) for b in bins]


class PackedDataset:
    """Bins of encoded examples, one bin an item, already laid out as one row: the examples'
    tokens end to end, positions restarting at each, each example's first label masked. Only
    model inputs, so the Trainer's column filter keeps them."""

    def __init__(self, examples: list[dict[str, Any]], max_length: int) -> None:
        self.bins = [
            [examples[i] for i in group] for group in pack([len(e["input_ids"]) for e in examples], max_length)
        ]
        self.tokens = sum(len(e["input_ids"]) for e in examples)

    def __len__(self) -> int:
        return len(self.bins)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return row_of(self.bins[index])

    def fill(self, max_length: int) -> float:
        """The share of the bins' `max_length` tokens that examples fill."""
        return self.tokens / max(1, len(self.bins) * max_length)


def row_of(examples: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Examples end to end, with the positions and labels that keep them apart."""
    row: dict[str, list[int]] = {"input_ids": [], "labels": [], "position_ids": []}
    for example in examples:
        ids = list(example["input_ids"])
        labels = list(example.get("labels", ids))
        row["input_ids"] += ids
        row["labels"] += [IGNORE, *labels[1:]]  # never learn the first token of the next example
        row["position_ids"] += list(range(len(ids)))
    return row


class PackedCollator:
    """Packed rows (or single examples, for evaluation) as a batch of rows, each padded to the
    batch's longest; the restarting positions tell the model where each example begins.

    Rows stay rows rather than one flattened sequence: with SDPA (no variable-length kernel)
    attention costs the square of the row's length, so eight rows of 512 tokens cost an eighth of
    one row of 4,096. The padding at a row's end is a sequence of its own (positions restart
    there too), labelled -100: nothing attends to it and it adds nothing to the loss. Padding
    uses `pad_id`, which the Trainer's count of non-padding tokens leaves out.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        rows = [f if "position_ids" in f else row_of([f]) for f in features]
        width = max(len(row["input_ids"]) for row in rows)
        batch: dict[str, list[list[int]]] = {"input_ids": [], "labels": [], "position_ids": []}
        for row in rows:
            missing = width - len(row["input_ids"])
            batch["input_ids"].append(row["input_ids"] + [self.pad_id] * missing)
            batch["labels"].append(row["labels"] + [IGNORE] * missing)
            batch["position_ids"].append(row["position_ids"] + list(range(missing)))
        return {key: torch.tensor(values) for key, values in batch.items()}
