"""The batch split to fill a GPU, and a first step out of memory retried once at half the rows.

The split is computed from the memory estimator for a card of a given size (no GPU needed); the
retry runs real training steps on the CPU, with the model made to run out of memory above a
number of rows, as a card too small for them would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import harness.train as harness_train
from advisor.estimate import Hardware
from advisor.projection import training_estimate
from harness.batch_fit import HEADROOM, divisors_descending, fitted_split, halved
from harness.config import build_config
from harness.train import train
from tunewise.errors import ModelError

GIB = 2**30


def _packed_llm(**values: object) -> Any:
    return build_config(
        {"data": "demo-qa", "base_model": "smollm2-135m-instruct", "method": "lora", "packing": True,
         "max_length": 2048, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 4} | values
    )  # fmt: skip


def test_a_large_card_takes_the_whole_effective_batch_in_one_step() -> None:
    split = fitted_split(_packed_llm(), n_examples=1000, tokens_per_example=2048, n_labels=None, card_bytes=80 * GIB)
    assert split is not None
    assert (split.rows, split.accumulation) == (16, 1)
    assert split.estimated_bytes <= HEADROOM * 80 * GIB
    assert "16 rows of up to 2048 tokens" in split.said(2048) and "accumulating" not in split.said(2048)


def test_a_small_card_gets_the_most_rows_that_fit_and_accumulates_the_rest() -> None:
    config, card = _packed_llm(method="full"), 8 * GIB
    split = fitted_split(config, n_examples=1000, tokens_per_example=2048, n_labels=None, card_bytes=card)
    assert split is not None
    assert split.rows * split.accumulation == 16 and 1 <= split.rows < 16
    assert split.estimated_bytes <= HEADROOM * card
    # The next larger split would not have fitted: the choice is the largest, not just one that fits.
    larger = [d for d in divisors_descending(16) if d > split.rows][-1]
    trial = config.to_dict() | {"per_device_train_batch_size": larger, "gradient_accumulation_steps": 16 // larger}
    estimate = training_estimate(
        trial,
        n_examples=1000,
        n_labels=None,
        tokens_per_example=2048,
        hardware=Hardware(gpu_memory_gb=card / 1e9, gpu_count=1),
    )
    assert estimate.memory.total > HEADROOM * card


def test_halving_keeps_the_effective_batch() -> None:
    config = build_config({"per_device_train_batch_size": 12, "gradient_accumulation_steps": 1})
    smaller = halved(config)
    assert smaller is not None
    assert (smaller.per_device_train_batch_size, smaller.gradient_accumulation_steps) == (6, 2)
    one = build_config({"per_device_train_batch_size": 1, "gradient_accumulation_steps": 16})
    assert halved(one) is None


@pytest.fixture
def runs_out_above(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Training steps of more rows than `limit["rows"]` raise CUDA's out-of-memory error."""
    import torch

    limit = {"rows": 4}
    loader = harness_train.load_for_training

    def loading(*args: Any, **kwargs: Any) -> Any:
        loaded = loader(*args, **kwargs)

        def check(module: Any, positional: tuple[Any, ...], named: dict[str, Any]) -> None:
            rows = named["input_ids"].shape[0] if "input_ids" in named else positional[0].shape[0]
            if module.training and rows > limit["rows"]:
                raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate for {rows} rows")

        loaded.model.register_forward_pre_hook(check, with_kwargs=True)
        return loaded

    monkeypatch.setattr(harness_train, "load_for_training", loading)
    yield limit


def test_a_first_step_out_of_memory_is_retried_once_at_half_the_rows(
    runs_out_above: dict[str, int], sentiment_data: Path, tmp_path: Path
) -> None:
    config = build_config(
        {"data": str(sentiment_data), "output_dir": str(tmp_path / "run"), "method": "full", "max_steps": 2,
         "per_device_train_batch_size": 8}
    )  # fmt: skip
    stages: list[str] = []
    outcome = train(config, on_stage=stages.append)
    assert outcome.status == "finished"
    assert any(
        "out of GPU memory at the first step with 8 rows" in s and "retrying with 4, accumulating 2" in s
        for s in stages
    )
    assert outcome.result is not None
    used = outcome.result.config
    assert (used["per_device_train_batch_size"], used["gradient_accumulation_steps"]) == (4, 2)
    assert outcome.metrics["steps"] == 2


@pytest.mark.parametrize("fit_batch, rows", [(True, 1), (False, 4)])
def test_out_of_memory_that_a_retry_cannot_cure_is_one_line(
    fit_batch: bool, rows: int, runs_out_above: dict[str, int], sentiment_data: Path, tmp_path: Path
) -> None:
    runs_out_above["rows"] = rows  # at most one row fits: half of 8 still does not
    out = tmp_path / "run"
    config = build_config(
        {"data": str(sentiment_data), "output_dir": str(out), "method": "full", "max_steps": 2,
         "per_device_train_batch_size": 8, "fit_batch": fit_batch}
    )  # fmt: skip
    stages: list[str] = []
    with pytest.raises(ModelError, match=r"out of GPU memory at step 1 with (4|8) rows") as caught:
        train(config, on_stage=stages.append)
    assert "per_device_train_batch_size lower" in str(caught.value) and "\n" not in str(caught.value)
    assert sum("retrying" in s for s in stages) == (1 if fit_batch else 0)
    assert not out.exists() and not out.with_name("run.incomplete").exists()
