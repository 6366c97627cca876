"""What a finished run leaves for people: the trainer log, a loss curve, and its metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunewise.atomic import atomic_write_text


def write_log(path: Path, log_history: list[dict[str, Any]]) -> None:
    """The Trainer's log history, one JSON object per line."""
    atomic_write_text(path, "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in log_history))


def read_log(path: Path) -> list[dict[str, Any]]:
    """The log history `write_log` wrote (empty when the file is missing)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def loss_points(log_history: list[dict[str, Any]]) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    train = [(int(e["step"]), float(e["loss"])) for e in log_history if "loss" in e and "step" in e]
    evaluation = [(int(e["step"]), float(e["eval_loss"])) for e in log_history if "eval_loss" in e and "step" in e]
    return train, evaluation


def plot_loss(path: Path, log_history: list[dict[str, Any]], title: str) -> bool:
    """Training and eval loss against the step, as a PNG; False when nothing was logged."""
    train, evaluation = loss_points(log_history)
    if not train and not evaluation:
        return False
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train, strict=True), label="train loss", linewidth=1.2)
    if evaluation:
        axes.plot(*zip(*evaluation, strict=True), label="eval loss", marker="o", linewidth=1.2)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png")
    plt.close(figure)
    tmp.replace(path)
    return True
