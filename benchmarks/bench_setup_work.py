"""Set-up cost under load: wall seconds against the work done (CPU seconds per compute thread),
with OpenMP's threads spinning while they wait (its default), waiting passively, and as tunewise
sets them (`tunewise.threads`).

    python benchmarks/bench_setup_work.py [--steps 40] [--method full]

Trains the built-in demo set (MiniLM) for a fixed number of steps, for each wait policy: alone,
beside one busy process, and beside one busy process per core. Each training runs in its own
process; the busy ones spin in pure Python (no OpenMP of their own). It prints each measure's
ratio to the idle run of the same policy (a verdict that ranks set-up cost by a measure near 1.0
ranks the same whatever else the machine was doing), and the idle cost of waiting passively.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPIN = "while True: pass"


def side(steps: int, method: str, out: str) -> dict[str, float]:
    """One training of `steps` steps, timed by the stopwatch the comparison's arms use."""
    from harness.config import build_config
    from harness.train import train
    from tunewise.stopwatch import Stopwatch, compute_threads

    config = build_config(
        {"data": "demo", "method": method, "max_steps": steps, "output_dir": out, "logging_steps": steps}
    )
    watch = Stopwatch()
    train(config, overwrite=True)
    return {"wall": watch.wall, "work": watch.work, "cpu": watch.cpu, "threads": float(compute_threads())}


def measured(steps: int, method: str, busy: int, settings: dict[str, str]) -> dict[str, float]:
    """One training beside `busy` spinning processes, with these OpenMP variables (none: the library's defaults)."""
    from tunewise.threads import USER_KEYS

    environment = {key: value for key, value in os.environ.items() if key not in USER_KEYS} | settings
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
    try:
        with tempfile.TemporaryDirectory() as out:
            code = (
                "import json, sys; sys.path.insert(0, sys.argv[1]); from benchmarks.bench_setup_work import side; "
                "print(json.dumps(side(int(sys.argv[2]), sys.argv[3], sys.argv[4])))"
            )
            done = subprocess.run(
                [sys.executable, "-c", code, str(REPO), str(steps), method, out],
                capture_output=True, text=True, check=True, cwd=REPO, env=environment,
            )  # fmt: skip
        row: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        return row
    finally:
        for spinner in spinners:
            spinner.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--method", default="full", choices=("full", "lora"))
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"{args.method}, {args.steps} steps of the demo set; {cores} cores")
    print(f"{'wait policy':>12} {'beside':>20} {'wall s':>8} {'work s':>8} {'wall x':>7} {'work x':>7}")
    idle: dict[str, dict[str, float]] = {}
    from tunewise.threads import openmp_settings

    for name, settings in (
        ("spin", {}),
        ("passive", {"OMP_WAIT_POLICY": "PASSIVE"}),
        ("tunewise", openmp_settings({})),
    ):
        for busy in sorted({0, 1, cores}):
            row = measured(args.steps, args.method, busy, settings)
            base = idle.setdefault(name, row)
            beside = "nothing (idle)" if busy == 0 else f"{busy} busy process(es)"
            print(
                f"{name:>12} {beside:>20} {row['wall']:8.1f} {row['work']:8.1f} "
                f"{row['wall'] / base['wall']:7.2f} {row['work'] / base['work']:7.2f}",
                flush=True,
            )
    for name in ("passive", "tunewise"):
        print(f"idle, {name} over spin: wall {idle[name]['wall'] / idle['spin']['wall']:.2f}x")


if __name__ == "__main__":
    main()
