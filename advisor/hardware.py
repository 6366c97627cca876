"""What this machine has, read without importing torch (it would cost seconds on every call)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

GIB = 1024**3


@dataclass(frozen=True)
class DetectedHardware:
    gpu_memory_gb: float
    gpu_count: int
    gpu_name: str | None
    ram_gb: float
    cpu_cores: int

    def answers(self) -> dict[str, Any]:
        """The questionnaire keys this detection fills in."""
        return {
            "gpu_memory_gb": self.gpu_memory_gb,
            "gpu_count": self.gpu_count,
            "ram_gb": self.ram_gb,
            "cpu_cores": self.cpu_cores,
        }


def _nvidia_gpus() -> list[tuple[str, float]]:
    """(name, memory in GB) of each NVIDIA GPU, from nvidia-smi; empty when there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        output = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in output.strip().splitlines():
        name, _, memory = line.rpartition(",")
        try:
            gpus.append((name.strip(), round(float(memory) / 1024, 1)))  # MiB -> GiB, as cards are sold
        except ValueError:
            continue
    return gpus


def _ram_gb() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16.0


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def detect_hardware() -> DetectedHardware:
    """GPUs (the smallest one's memory, since every rank must fit), RAM and usable CPU cores."""
    gpus = _nvidia_gpus()
    memory = min((m for _, m in gpus), default=0.0)
    return DetectedHardware(memory, len(gpus), gpus[0][0] if gpus else None, _ram_gb(), _cpu_cores())
