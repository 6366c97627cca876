"""The order in which each epoch visits the training examples: a function of (seed, epoch) alone.

transformers' length-grouped sampler draws each epoch's permutation from the global torch RNG when
the epoch's iterator starts. That RNG has by then served model loading, dropout masks and whatever
else ran before, so the order depends on the process's history: a run resumed inside a later epoch
draws its permutation in a fresh process, before the checkpoint's RNG state is restored, and then
skips the batches already trained in an order that was never trained. Each epoch here draws from
its own generator, seeded from (seed, epoch), so every process, fresh or resumed, sees the same
batches in every epoch.

The epoch is read from the Trainer's state when the epoch's iterator starts: accelerate forwards
`set_epoch` to a sampler through some of its wrappers but not all (a data-parallel run resumed
mid-epoch nests the sampler three deep, where it is never reached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler, SequentialSampler
from transformers import Trainer
from transformers.trainer_pt_utils import get_length_grouped_indices

from harness.training_arguments import sampling_strategy


def epoch_order(size: int, seed: int, epoch: int, lengths: list[int] | None = None, group_size: int = 1) -> list[int]:
    """The indices of `size` examples in epoch `epoch`'s order; with `lengths`, batches of similar lengths."""
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    if lengths is None:
        return [int(i) for i in torch.randperm(size, generator=generator).tolist()]
    # The same grouping as transformers' own sampler (shuffled mega-batches, each sorted by length),
    # so the padding saved, and with it the throughput, stay what they were.
    return [int(i) for i in get_length_grouped_indices(lengths, group_size, generator=generator)]


def epoch_seed(seed: int, epoch: int) -> int:
    # Mixed rather than added: with `seed + epoch`, seed 42 would replay seed 41's orders one epoch late.
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


class EpochOrderSampler(Sampler[int]):
    """Yields `epoch_order` for the epoch `current_epoch()` names when iteration starts."""

    def __init__(
        self,
        size: int,
        seed: int,
        current_epoch: Callable[[], int],
        lengths: list[int] | None = None,
        group_size: int = 1,
    ) -> None:
        super().__init__()
        self.size = size
        self.seed = seed
        self.current_epoch = current_epoch
        self.lengths = lengths
        self.group_size = group_size

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        yield from epoch_order(self.size, self.seed, self.current_epoch(), self.lengths, self.group_size)


class SeededOrderTrainer(Trainer):
    """A Trainer whose epochs visit the data in an order fixed by (seed, epoch); it predicts in the data's order."""

    _in_data_order = False

    def _get_train_sampler(self, train_dataset: Any = None) -> Sampler[int] | None:
        args = self.args
        strategy = sampling_strategy(args)
        if strategy not in ("random", "group_by_length"):
            return super()._get_train_sampler(train_dataset)  # strategies the harness never sets
        dataset: Any = train_dataset if train_dataset is not None else self.train_dataset
        lengths = None
        if strategy == "group_by_length":
            key = getattr(self.processing_class, "model_input_names", ["input_ids"])[0]
            lengths = [len(dataset[i][key]) for i in range(len(dataset))]
        return EpochOrderSampler(
            len(dataset),
            args.data_seed if args.data_seed is not None else args.seed,
            self._current_epoch,
            lengths,
            # Per process, as transformers groups: each process's share of an optimizer step is one group.
            group_size=args.train_batch_size * args.gradient_accumulation_steps,
        )

    def _current_epoch(self) -> int:
        # `state.epoch` is a whole number at every epoch's start and a fraction inside the one resumed.
        return int(self.state.epoch or 0)

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        # transformers groups evaluation batches by length as well, and `predict` returns its
        # predictions in the order it ran them, not the eval set's: predict in the data's own order.
        self._in_data_order = True
        try:
            return super().predict(*args, **kwargs)
        finally:
            self._in_data_order = False

    def _get_eval_sampler(self, eval_dataset: Any) -> Sampler[int] | None:
        if not self._in_data_order:
            return super()._get_eval_sampler(eval_dataset)  # evaluations only score: any order will do
        if self.args.world_size > 1:
            return None  # accelerate shards the eval set in order and gathers it back in order
        return SequentialSampler(eval_dataset)
