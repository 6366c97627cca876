"""Projecting a measured set-up onto the declared hardware, and estimating a training arm before it runs."""

from __future__ import annotations

import pytest

from advisor.estimate import Hardware
from advisor.projection import project_setup, training_estimate

CPU = Hardware(cpu_cores=2, ram_gb=24)
TWO_GPUS = Hardware(gpu_memory_gb=80, gpu_count=2, price_per_gpu_hour=3.0)


def test_the_same_machine_projects_to_the_measurement_and_a_cpu_costs_nothing() -> None:
    same = project_setup(600.0, CPU, CPU)
    assert same.seconds == pytest.approx(600.0) and same.usd == 0.0


def test_faster_declared_gpus_shorten_the_set_up_and_are_priced_per_gpu_hour() -> None:
    projected = project_setup(3600.0, CPU, TWO_GPUS)
    assert projected.seconds == pytest.approx(3600.0 * CPU.flops_per_second / TWO_GPUS.flops_per_second)
    assert projected.seconds < 3600.0
    assert projected.usd == pytest.approx(projected.seconds / 3600 * 2 * 3.0)


def test_a_training_estimate_grows_with_the_data_and_the_epochs() -> None:
    config = {"task": "classification", "method": "full", "num_train_epochs": 2, "per_device_train_batch_size": 16}
    small = training_estimate(config, n_examples=500, n_labels=4, tokens_per_example=20, hardware=CPU)
    large = training_estimate(config, n_examples=5000, n_labels=4, tokens_per_example=20, hardware=CPU)
    longer = training_estimate(
        config | {"num_train_epochs": 4}, n_examples=500, n_labels=4, tokens_per_example=20, hardware=CPU
    )
    assert small.model == "minilm-l6" and small.method == "full"
    assert large.hours == pytest.approx(10 * small.hours, rel=0.01)
    assert longer.hours == pytest.approx(2 * small.hours, rel=0.01)
