"""The estimator against real training runs on this machine: peak memory within 25%."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor.architectures import KNOWN
from advisor.estimate import Hardware, TrainingPlan, estimate_training
from tests.conftest import REPO

NUM_LABELS = 77  # as benchmarks/bench_memory.py uses


def measure(model: str, method: str, batch: int, seq: int) -> dict[str, float]:
    """One real run in a fresh process (benchmarks/bench_memory.py does the measuring)."""
    command = [
        sys.executable,
        "benchmarks/bench_memory.py",
        "--steps",
        "2",
        "--worker",
        model,
        method,
        str(batch),
        str(seq),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    measured: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def estimated(model: str, method: str, batch: int, seq: int) -> tuple[float, int]:
    spec = KNOWN[model]
    plan = TrainingPlan(
        method,  # type: ignore[arg-type]
        batch_size=batch,
        seq_len=seq,
        lora_r=16,
        target_modules="all-linear",
        lora_dropout=0.05,  # as benchmarks/bench_memory.py trains
        num_labels=NUM_LABELS if spec.kind == "encoder" else None,
    )
    estimate = estimate_training(spec, plan, Hardware(0, 0, 64, 2))
    return estimate.memory.total, estimate.trainable_params


@pytest.mark.parametrize(
    "model, method, batch, seq",
    [
        ("minilm-l6", "lora", 16, 128),
        pytest.param("minilm-l6", "full", 16, 128, marks=pytest.mark.slow),
        pytest.param("minilm-l6", "qlora", 16, 128, marks=pytest.mark.slow),
        pytest.param("smollm2-135m-instruct", "full", 4, 256, marks=pytest.mark.slow),
        pytest.param("smollm2-135m-instruct", "lora", 4, 256, marks=pytest.mark.slow),
        pytest.param("smollm2-135m-instruct", "qlora", 4, 256, marks=pytest.mark.slow),
    ],
)
def test_peak_memory_within_25_percent_of_a_real_run(model: str, method: str, batch: int, seq: int) -> None:
    if method == "qlora":
        pytest.importorskip("bitsandbytes", reason="QLoRA needs the quant extra (bitsandbytes)")
    measured = measure(model, method, batch, seq)
    memory, trainable = estimated(model, method, batch, seq)
    assert measured["trainable"] == trainable  # the parameter count must be exact
    assert 0.75 <= measured["peak_bytes"] / memory <= 1.25, (measured["peak_bytes"], memory)
