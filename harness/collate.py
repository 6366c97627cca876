"""Batches: padded to their own longest example, never to a fixed length.

Padding every example to `max_length` (as the classic recipe does) spends most of the compute
on padding when texts are short; padding each batch to its longest member, with batches of
similar lengths grouped together, removes nearly all of it. Packing goes further for
instruction tuning (`harness/packing.py`): rows filled to `max_length` with whole examples.
"""

from __future__ import annotations

from typing import Any

from harness.tokenize import IGNORE

# On a GPU, batch lengths rounded up to a multiple of this many tokens (see `padding_multiple`).
GPU_PAD_MULTIPLE = 8


def padding_multiple(device_type: str) -> int | None:
    """How batch lengths are rounded on this device: not at all on a CPU, where every padded
    token costs its share of the step; to a multiple of `GPU_PAD_MULTIPLE` on a GPU, whose
    matrix units work on tiles of 8 (a few padded tokens are free there, misaligned rows are not).
    """
    return GPU_PAD_MULTIPLE if device_type == "cuda" else None


def collator_for(task: str, tokenizer: Any, *, multiple_of: int | None = None) -> Any:
    """Unpacked batches; `harness.packing.PackedCollator` batches packed rows."""
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithPadding

    if task == "classification":
        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=multiple_of)
    # Pads labels with -100 as well, so padded positions never count in the loss.
    return DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE, pad_to_multiple_of=multiple_of)


class ListDataset:
    """Encoded examples as a map-style dataset (what the Trainer and its samplers expect)."""

    def __init__(self, examples: list[dict[str, Any]]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.examples[index]
