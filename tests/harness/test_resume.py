"""Interrupted runs: `kill -9` mid-epoch, a disk that fills up mid-save, and resuming both."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, CliResult


def _train_args(data: Path, out: Path) -> list[str]:
    sets = {
        "data": data,
        "output_dir": out,
        "method": "full",
        "learning_rate": 1e-4,
        "per_device_train_batch_size": 8,
        "max_steps": 16,
        "save_steps": 4,
        "save_total_limit": 5,
        "logging_steps": 2,
    }
    return ["train", "--quiet", *[arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]]


def _launch(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # the same threads in every run: the same sums
    )


def _finish(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


def test_kill_9_mid_epoch_then_resume_matches_an_uninterrupted_run(sentiment_data: Path, tmp_path: Path) -> None:
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    _finish(_launch(_train_args(sentiment_data, reference)))

    process = _launch(_train_args(sentiment_data, interrupted))
    sealed = interrupted.with_name("interrupted.incomplete") / "checkpoints" / "checkpoint-8" / "tunewise-complete"
    deadline = time.monotonic() + 300
    while not sealed.exists():  # step 8 of 16 is mid-epoch (10 steps per epoch)
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not interrupted.exists()

    _finish(_launch([*_train_args(sentiment_data, interrupted), "--resume"]))
    done = json.loads((interrupted / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert done["resumed_from"] in {"checkpoint-8", "checkpoint-12"} and done["steps"] == 16
    assert done["eval"]["accuracy"] == expected["eval"]["accuracy"]
    assert done["eval"]["loss"] == pytest.approx(expected["eval"]["loss"], rel=1e-5)
    predictions = json.loads((interrupted / "result.json").read_text())["predictions"]
    assert predictions == json.loads((reference / "result.json").read_text())["predictions"]


def test_disk_full_mid_save_leaves_no_partial_checkpoint(
    sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import Trainer

    real = Trainer._save_optimizer_and_scheduler
    calls = {"n": 0}

    def fill_disk_on_second_save(self: Any, output_dir: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the model files of checkpoint-8 are written, the optimizer's are not
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", fill_disk_on_second_save)
    out = tmp_path / "full-disk"
    args = [arg for arg in _train_args(sentiment_data, out) if arg != "--quiet"]
    result = cli(*args)
    assert result.code == 2
    message = result.err.strip().splitlines()[-1]
    assert "the disk filled up" in message and "checkpoint-4" in message and "--resume" in message
    checkpoints = out.with_name("full-disk.incomplete") / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-4"]
    assert not out.exists()

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", real)
    resumed = cli(*args, "--resume")
    assert resumed.code == 0, resumed.err
    assert json.loads((out / "metrics.json").read_text())["resumed_from"] == "checkpoint-4"
