"""The estimator corrected by what training measured on this machine, once enough runs agree."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.architectures import KNOWN
from advisor.calibration import MIN_RUNS, Measured, calibrate, ratios
from advisor.estimate import Estimate, Hardware, TrainingPlan, estimate_training

CPU = Hardware(0, 0, 24, 2)


def _estimate() -> Estimate:
    plan = TrainingPlan("lora", n_examples=800, epochs=3, tokens_per_example=20, num_labels=18)
    return estimate_training(KNOWN["minilm-l6"], plan, CPU)


def _runs(estimate: Estimate, slower: float, count: int, *, method: str = "lora") -> list[Measured]:
    """`count` runs measured `slower` times the forecast (and a little more each), at twice its memory."""
    seconds, memory = estimate.hours * 3600, estimate.memory.total
    return [
        Measured(estimate.model, method, estimate.device, seconds, seconds * slower * (1 + i / 100), memory, 2 * memory)
        for i in range(count)
    ]


def test_the_model_stands_until_enough_runs_measured_the_same_model_and_method_here() -> None:
    estimate = _estimate()
    assert calibrate(estimate, _runs(estimate, 3.0, MIN_RUNS - 1), CPU) == estimate
    assert calibrate(estimate, _runs(estimate, 3.0, 5, method="full"), CPU) == estimate
    elsewhere = [replace(m, hardware="1 x 80 GB GPU (A100/H100 class)") for m in _runs(estimate, 3.0, 5)]
    assert calibrate(estimate, elsewhere, CPU) == estimate


def test_enough_runs_scale_time_and_memory_by_their_median_and_say_so() -> None:
    estimate = _estimate()
    history = _runs(estimate, 3.0, 5)  # 3.00x .. 3.12x the forecast: the median is 3.06x
    corrected = calibrate(estimate, history, CPU)
    assert corrected.hours == pytest.approx(estimate.hours * 3.06)
    assert corrected.memory.total == pytest.approx(estimate.memory.total * 2)
    assert corrected.measured_runs == 5
    assert corrected.notes[-1] == "time and memory from 5 runs here (3.1x the model's time, 2x its memory)"
    (ratio,) = ratios(history)
    assert (ratio.runs, ratio.time, ratio.memory) == (5, pytest.approx(3.06), pytest.approx(2.0))
    # Memory measured beyond what the machine has: the estimate no longer fits.
    small = replace(CPU, ram_gb=estimate.memory.total * 1.5 / 1e9)
    assert not calibrate(estimate, history, small).fits
