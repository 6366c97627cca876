"""The estimator measured against this machine, and its figures corrected by what was measured.

The estimator forecasts each training's time and peak memory from the model's size, the data and
the hardware's published speed (`advisor.estimate`). A real machine is faster or slower than its
class (another CPU, a throttled GPU, a framework's overheads), and without a correction a user
would be told the same wrong "2 min" forever. So every trained arm of a comparison records in the
run registry, beside what it measured, what the estimator had said for its config
(`estimate_record`); `machine_history` reads those back, `ratios` shows the measured-over-estimated
ratio by model and method (`tunewise runs calibration`), and `calibrate` scales a new estimate by
that ratio once `MIN_RUNS` runs of the same model and method on the same hardware agree on one
(their median), saying so in the estimate's notes. With fewer, the estimator's model stands.

Time is measured as work (CPU seconds per compute thread, `tunewise.stopwatch`), so a training
that shared the machine with another job does not teach the estimator that the machine is slow.
"""

from __future__ import annotations

import socket
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from advisor.estimate import Estimate, Hardware, Memory

MIN_RUNS = 3  # runs of one model and method here before their ratio replaces the model's figures
# A training shorter than this is mostly loading, tokenising and evaluating, which the estimator
# does not model: six steps of the quick demo measured 1.6-3.1x their forecast of about a second,
# and taught the advice that this machine trains full fine-tuning slower than it does.
MIN_SECONDS = 20.0
RECORD = "estimate"  # the key of a run's metrics in the registry that holds the forecast and measure


@dataclass(frozen=True)
class Measured:
    """One training run: what the estimator forecast for its config, and what it measured."""

    model: str
    method: str
    hardware: str  # `Hardware.describe()` of the machine it ran on
    estimated_seconds: float
    seconds: float
    estimated_bytes: float
    peak_bytes: float


def estimate_record(estimate: Estimate, seconds: float, peak_bytes: float) -> dict[str, Any]:
    """What a training run keeps in the registry (under `RECORD` in its metrics) for calibration."""
    return {
        "model": estimate.model,
        "method": estimate.method,
        "hardware": estimate.device,
        "estimated_seconds": estimate.hours * 3600,
        "seconds": seconds,
        "estimated_bytes": estimate.memory.total,
        "peak_bytes": peak_bytes,
    }


def machine_history(limit: int = 2000) -> list[Measured]:
    """The training runs recorded on this host with their forecasts, newest first; none when the
    registry cannot be read (the advice then rests on the estimator alone)."""
    from tunewise.registry import Registry

    host = socket.gethostname()
    try:
        registry = Registry()
        if not registry.path.exists():
            return []
        runs = registry.runs(limit=limit)
    except Exception:
        return []
    found = []
    for run in runs:
        record = (run.metrics or {}).get(RECORD)
        if run.status != "ok" or run.host != host or not isinstance(record, dict):
            continue
        try:
            measured = Measured(**{key: record[key] for key in Measured.__dataclass_fields__})
        except (KeyError, TypeError):
            continue
        if measured.estimated_seconds > 0 and measured.seconds >= MIN_SECONDS:
            found.append(measured)
    return found


@dataclass(frozen=True)
class Ratio:
    """Measured over estimated for one model and method on one machine: the median of its runs."""

    model: str
    method: str
    hardware: str
    runs: int
    time: float
    memory: float | None  # None where no run measured its peak


def ratios(history: Sequence[Measured]) -> list[Ratio]:
    """The ratio of every (model, method, hardware) in `history`, most runs first."""
    groups: dict[tuple[str, str, str], list[Measured]] = {}
    for measured in history:
        groups.setdefault((measured.model, measured.method, measured.hardware), []).append(measured)
    found = []
    for (model, method, hardware), runs in groups.items():
        memory = [m.peak_bytes / m.estimated_bytes for m in runs if m.peak_bytes > 0 and m.estimated_bytes > 0]
        found.append(
            Ratio(
                model,
                method,
                hardware,
                len(runs),
                statistics.median(m.seconds / m.estimated_seconds for m in runs),
                statistics.median(memory) if memory else None,
            )
        )
    return sorted(found, key=lambda ratio: (-ratio.runs, ratio.model, ratio.method))


def calibrate(estimate: Estimate, history: Sequence[Measured], hardware: Hardware) -> Estimate:
    """`estimate` with its time (and memory) scaled by this machine's measured ratio for the same
    model, method and hardware, once there are `MIN_RUNS` runs of them; else as it is."""
    same = [m for m in history if (m.model, m.method, m.hardware) == (estimate.model, estimate.method, estimate.device)]
    if len(same) < MIN_RUNS:
        return estimate
    (ratio,) = ratios(same)
    memory = estimate.memory
    if ratio.memory is not None:
        memory = Memory(*(part * ratio.memory for part in (memory.weights, memory.gradients, memory.optimizer,
                                                          memory.activations, memory.overhead)))  # fmt: skip
    said = f"time {'and memory ' if ratio.memory is not None else ''}from {ratio.runs} runs here ({ratio.time:.2g}x the model's time"
    said += f", {ratio.memory:.2g}x its memory)" if ratio.memory is not None else ")"
    return replace(
        estimate,
        hours=estimate.hours * ratio.time,
        cost_usd=estimate.cost_usd * ratio.time,
        memory=memory,
        fits=memory.total <= hardware.device_memory_bytes,
        notes=[*estimate.notes, said],
        measured_runs=ratio.runs,
    )
