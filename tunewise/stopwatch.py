"""How long something took, and how much work it was.

Wall seconds are what a user waits, but another job on the machine stretches them: two arms that
trained beside different neighbours cannot be ranked by them (one measured 538 s sharing the
cores, 2.3 times its idle figure). The CPU time of this process, spread over the threads it
computes with, stays near the idle wall time under load, provided its threads do not spin long
while they wait for each other (`tunewise.threads`): it is the set-up cost a verdict ranks by. On a
machine with an accelerator the work is done there, not in CPU time, so the wall clock stands
for it (an accelerator is rarely shared the way cores are).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass


def compute_threads() -> int:
    """The threads this process computes with: torch's intra-op pool once torch is loaded."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, int(torch.get_num_threads()))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def accelerated() -> bool:
    """Whether the work runs on a GPU here (torch sees one): then wall time measures it."""
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_available())


class Stopwatch:
    """Started when made: `wall` is the seconds since, `work` the seconds of computing since
    (process CPU time over the compute threads; wall time on an accelerator)."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    @property
    def wall(self) -> float:
        return time.perf_counter() - self._wall

    @property
    def cpu(self) -> float:
        return time.process_time() - self._cpu

    @property
    def work(self) -> float:
        if accelerated():
            return self.wall
        return self.cpu / compute_threads()

    def spent(self) -> Spent:
        return Spent(self.wall, self.work)


@dataclass(frozen=True)
class Spent:
    """Seconds waited and seconds of work, for a part of a set-up; parts add up."""

    wall: float = 0.0
    work: float = 0.0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.wall + other.wall, self.work + other.work)

    def costs(self) -> dict[str, float]:
        """As an arm's costs record a set-up."""
        return {"setup_seconds": self.wall, "setup_work_seconds": self.work}

    @classmethod
    def waited(cls, seconds: float) -> Spent:
        """Time spent waiting on another machine (a served model): the wait is the work, as far as
        this machine can tell."""
        return cls(seconds, seconds)
