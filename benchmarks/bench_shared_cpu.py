"""Two trainings on one CPU: the work each does, and the two together, for each way OpenMP's
threads may wait, against one training alone with the library's default.

    python benchmarks/bench_shared_cpu.py [--steps 60] [--batch 16] [--repeats 2]

Each training is `tunewise train` of MiniLM on the demo set (full fine-tuning, `--steps` steps
of `--batch` rows) in its own process; a pair starts together. The figure is the Trainer's
samples per second, which leaves out loading. Rows:

- `spin`: the OpenMP library's default (threads spin for a while at each barrier, then sleep);
- `passive`: `OMP_WAIT_POLICY=PASSIVE` (threads sleep at once);
- `spin N`: `GOMP_SPINCOUNT=N`, a shorter spell of spinning;
- `tunewise`: what `tunewise` itself sets before torch loads (`tunewise.threads`).

Targets: with tunewise's setting two trainings at once do at least the work of one alone with
the default, and one alone loses at most 5% of it. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Variables that steer OpenMP's threads; each row starts from an environment without them.
OPENMP = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
CHILD = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); from harness.config import build_config; "
    "from harness.train import train; "
    "config = build_config({'data': 'demo', 'method': 'full', 'max_steps': int(sys.argv[2]), "
    "'per_device_train_batch_size': int(sys.argv[3]), 'output_dir': sys.argv[4], 'logging_steps': 1000, "
    "'save_steps': 100000}); "
    "outcome = train(config, overwrite=True); "
    "print(json.dumps(outcome.metrics['train_samples_per_second']))"
)


def policies() -> dict[str, dict[str, str]]:
    """Each row's OpenMP variables; `tunewise` is what the command line sets on a clean start."""
    from tunewise.threads import openmp_settings

    return {
        "spin": {},
        "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
        "spin 100000": {"GOMP_SPINCOUNT": "100000"},
        "spin 10000": {"GOMP_SPINCOUNT": "10000"},
        "spin 3000": {"GOMP_SPINCOUNT": "3000"},
        "spin 1000": {"GOMP_SPINCOUNT": "1000"},
        "spin 300": {"GOMP_SPINCOUNT": "300"},
        "tunewise": openmp_settings({}),
    }


def trainings(settings: dict[str, str], at_once: int, steps: int, batch: int) -> list[float]:
    """Samples per second of each of `at_once` trainings started together."""
    environment = {k: v for k, v in os.environ.items() if k not in OPENMP} | settings
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-c", CHILD, str(REPO), str(steps), str(batch)]
        children = [
            subprocess.Popen(
                [*command, f"{out}/{i}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env=environment,
            )
            for i in range(at_once)
        ]
        speeds = []
        for child in children:
            stdout, stderr = child.communicate()
            if child.returncode != 0:
                raise SystemExit(f"a training failed: {stderr.strip().splitlines()[-1:]}")
            speeds.append(float(json.loads(stdout.strip().splitlines()[-1])))
    return speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every row; medians are shown")
    parser.add_argument("--only", default="", help="comma-separated rows to run (default: all)")
    args = parser.parse_args()
    rows = policies()
    if args.only:
        rows = {name: rows[name] for name in args.only.split(",")}
    cores = len(os.sched_getaffinity(0))
    print(f"full fine-tuning of MiniLM on the demo set, {args.steps} steps of {args.batch}; {cores} cores")
    # Rounds outside, rows inside: a drift in the machine's speed reaches every row of a round,
    # and each ratio is taken against the first row's figure of the same round.
    alone: dict[str, list[float]] = {name: [] for name in rows}
    together: dict[str, list[float]] = {name: [] for name in rows}
    each: dict[str, list[float]] = {name: [] for name in rows}
    first = next(iter(rows))  # the library's default, the baseline
    for round_ in range(args.repeats):
        for name, settings in rows.items():
            alone[name].append(trainings(settings, 1, args.steps, args.batch)[0])
            if name == first and round_ > 0:
                continue  # the default's pairs crawl (minutes each): one round of them says enough
            pair = trainings(settings, 2, args.steps, args.batch)
            together[name].append(sum(pair))
            each[name] += pair
    print(f"{'threads wait':>14} {'settings':>28} {'alone':>7} {'2 at once, each':>16} {'together':>9}"
          f" {'alone x':>8} {'together x':>11}")  # fmt: skip
    for name, settings in rows.items():
        alone_x = [a / b for a, b in zip(alone[name], alone[first], strict=True)]
        together_x = [t / b for t, b in zip(together[name], alone[first], strict=False)]
        said = " ".join(f"{k}={v}" for k, v in settings.items()) or "(none)"
        print(
            f"{name:>14} {said:>28} {statistics.median(alone[name]):7.1f} {statistics.median(each[name]):16.1f} "
            f"{statistics.median(together[name]):9.1f} {statistics.median(alone_x):8.2f} {statistics.median(together_x):11.2f}",
            flush=True,
        )
    print(
        f"medians of {args.repeats} rounds (the default's pairs: the first); ratios against the same round's `{first}` alone"
    )
    print("targets for `tunewise`: alone x >= 0.95, together x >= 1.00")


if __name__ == "__main__":
    main()
