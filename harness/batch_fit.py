"""The rows of each step on a GPU: as many as the card holds, with the same effective batch.

A config says how many examples each optimizer update sees (per-device rows x accumulation
steps): that is the optimisation's choice, and it stays. How they are split is the hardware's:
a GPU computes a step of 16 rows in little more time than a step of 4, so a config written on a
laptop (4 rows, accumulating 4) wastes a large card, and one written for a large card runs out of
memory on a small one. The memory estimator (`advisor.estimate`, within 25% of the measured
peak on the built-in models) picks the largest split that fits, with room for its error; a first
step that still runs out of memory is retried once at half the rows (`halved`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harness.config import TrainConfig

# Of the card's memory, the share a plan may fill: the estimator's error, and the allocator's
# fragmentation, take the rest.
HEADROOM = 0.8


@dataclass(frozen=True)
class BatchSplit:
    rows: int  # per device and step
    accumulation: int  # steps whose gradients add up before each update
    estimated_bytes: float
    card_bytes: float

    def said(self, row_tokens: int) -> str:
        """One line for the log: the split, and why."""
        accumulating = f", accumulating {self.accumulation}" if self.accumulation > 1 else ""
        return (
            f"batch: {self.rows} rows of up to {row_tokens} tokens a step{accumulating} "
            f"(estimated {self.estimated_bytes / 2**30:.1f} of {self.card_bytes / 2**30:.0f} GiB on this GPU)"
        )


def divisors_descending(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def fitted_split(
    config: TrainConfig,
    *,
    n_examples: int,
    tokens_per_example: int | None,
    n_labels: int | None,
    card_bytes: float,
) -> BatchSplit | None:
    """The most rows a step (a divisor of the effective batch) whose estimated peak fits
    `HEADROOM` of `card_bytes`; None where the estimator cannot size the model."""
    from advisor.estimate import Hardware
    from advisor.projection import training_estimate
    from tunewise.errors import TunewiseError

    effective = config.per_device_train_batch_size * config.gradient_accumulation_steps
    hardware = Hardware(gpu_memory_gb=card_bytes / 1e9, gpu_count=1)
    resolved: dict[str, Any] = config.to_dict()
    estimated = 0.0
    for rows in divisors_descending(effective):
        trial = resolved | {"per_device_train_batch_size": rows, "gradient_accumulation_steps": effective // rows}
        try:
            estimate = training_estimate(
                trial, n_examples=n_examples, n_labels=n_labels, tokens_per_example=tokens_per_example,
                hardware=hardware,
            )  # fmt: skip
        except TunewiseError:
            return None
        estimated = estimate.memory.total
        if estimated <= HEADROOM * card_bytes:
            return BatchSplit(rows, effective // rows, estimated, card_bytes)
    return BatchSplit(1, effective, estimated, card_bytes)


def applied(config: TrainConfig, split: BatchSplit) -> TrainConfig:
    return replace(config, per_device_train_batch_size=split.rows, gradient_accumulation_steps=split.accumulation)


def halved(config: TrainConfig) -> TrainConfig | None:
    """About half the rows, the same effective batch: the largest divisor of the effective batch
    at most half the rows now, the accumulation making up the rest; None at one row."""
    rows, effective = (
        config.per_device_train_batch_size,
        config.per_device_train_batch_size * config.gradient_accumulation_steps,
    )
    smaller = [d for d in divisors_descending(effective) if d <= rows // 2]
    if not smaller:
        return None
    return replace(config, per_device_train_batch_size=smaller[0], gradient_accumulation_steps=effective // smaller[0])
