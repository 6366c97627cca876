"""`report_to` reaches TensorBoard and MLflow; two CPU processes train as one (DDP over gloo)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import build_config
from harness.train import train
from tests.conftest import REPO


def test_tensorboard_events_and_an_mlflow_run_appear(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("tensorboard", "mlflow"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}: pip install 'tunewise[track]'")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # unset for tunewise, restored afterwards
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    out = tmp_path / "runs" / "tracked"
    config = build_config(
        {"data": str(sentiment_data), "output_dir": str(out), "max_steps": 4, "logging_steps": 1,
         "report_to": ["tensorboard", "mlflow"]}
    )  # fmt: skip
    train(config)
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    runs = [p for p in (tmp_path / "runs" / "mlruns").glob("*/*") if (p / "meta.yaml").is_file()]
    assert len(runs) == 1
    logged = {p.name for p in (runs[0] / "metrics").iterdir()}
    assert {"loss", "eval_accuracy"} <= logged


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_gloo_processes_agree(sentiment_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    sets = {
        "data": sentiment_data,
        "output_dir": out,
        "method": "lora",
        "max_steps": 3,
        "per_device_train_batch_size": 4,
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
        "-m", "tui", "train", "--quiet", *[a for k, v in sets.items() for a in ("--set", f"{k}={v}")],
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert len(metrics["rank_digests"]) == 2 and len(set(metrics["rank_digests"])) == 1
    # Each step consumed one batch per process: 3 steps x 2 ranks x 4 examples.
    assert metrics["steps"] == 3 and metrics["epochs"] == pytest.approx(24 / metrics["train_examples"], rel=0.05)


def test_wandb_logs_offline_without_a_key(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("wandb") is None:
        pytest.skip("needs wandb: pip install 'tunewise[track]'")
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_DIR"):
        monkeypatch.setenv(name, "")  # unset as far as tunewise is concerned, and restored afterwards
    out = tmp_path / "runs" / "wandb-run"
    train(build_config({"data": str(sentiment_data), "output_dir": str(out), "max_steps": 2, "report_to": ["wandb"]}))
    offline = list((tmp_path / "runs" / "wandb").glob("offline-run-*"))
    assert len(offline) == 1 and list(offline[0].glob("*.wandb"))
    assert os.environ["WANDB_MODE"] == "offline"
