"""The GPU benchmark's causal-LM sections, rehearsed on the CPU with a two-layer model (`--quick`):
every path the device job takes (building a random-weight model, tunewise against the bare
Trainer + peft script, the estimate and the summary) runs and writes its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_llm_sections_run_on_a_cpu_with_a_tiny_model(tmp_path: Path) -> None:
    command = [sys.executable, "benchmarks/bench_gpu.py", "--quick", "--out", str(tmp_path)]
    done = subprocess.run(
        [*command, "--only", "lora-1b", "--only", "full-1b"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lora = json.loads((tmp_path / "lora-1b.json").read_text())
    assert lora["family"] == "tiny-llama" and lora["row_tokens"] == 128
    row = lora["lora"]
    assert row["tunewise"]["tokens_per_second"] > 0 and row["bare"]["tokens_per_second"] > 0
    assert row["vs_bare"] == pytest.approx(row["tunewise"]["tokens_per_second"] / row["bare"]["tokens_per_second"])
    # Both sides did the same work a step: tunewise's split, and the bare script's full rows.
    assert row["tunewise"]["rows"] * row["tunewise"]["accumulation"] == 16
    assert row["tunewise"]["tokens_per_step"] == pytest.approx(row["bare"]["tokens_per_step"], rel=0.05)
    assert row["estimated_gb"] > 0
    full = json.loads((tmp_path / "full-1b.json").read_text())["full"]
    assert 0 < full["share_of_bf16_peak"] < 1
    assert "tunewise / bare" in done.stdout
