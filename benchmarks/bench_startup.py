"""Start-up and profiling speed, against baselines measured in the same run.

    python benchmarks/bench_startup.py [--repeat 5] [--csv PATH]

Budgets: `tunewise --help` under 1 s; `tunewise profile` on a 10,000-row CSV under 5 s.
Baselines: a bare `python -c pass` (the floor for any Python command line), `import torch`
(what a careless CLI pays on every call), and loading the same CSV with
`datasets.load_dataset("csv")` (the usual first step of a hand-written script).
Each command runs in a fresh interpreter; the best of `--repeat` runs is reported.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"


def best_of(command: list[str], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    return min(timings)


def synthetic_csv(path: Path, rows: int = 10_000) -> Path:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            writer.writerow([" ".join(rng.choices(words, k=rng.randint(5, 30))), f"class_{rng.randrange(50)}"])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--csv", type=Path, help="a 10,000-row CSV (default: banking77 train, else synthetic)")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        data = args.csv or (BANKING77 if BANKING77.exists() else synthetic_csv(Path(tmp) / "synthetic.csv"))
        load_with_datasets = (
            "import datasets; datasets.disable_progress_bars(); "
            f"datasets.load_dataset('csv', data_files={str(data)!r}, cache_dir={tmp!r})"
        )
        rows = [
            ("python -c pass", [py, "-c", "pass"]),
            ("python -c 'import torch'", [py, "-c", "import torch"]),
            ("tunewise --help", [py, "-m", "tui", "--help"]),
            ("datasets.load_dataset(csv)", [py, "-c", load_with_datasets]),
            ("tunewise profile CSV --json", [py, "-m", "tui", "profile", str(data), "--json"]),
        ]
        timings = {name: best_of(command, args.repeat) for name, command in rows}
    floor = timings["python -c pass"]
    with open(data, newline="", encoding="utf-8") as handle:
        n_rows = sum(1 for _ in csv.reader(handle)) - 1
    print(f"data: {data} ({n_rows:,} rows), best of {args.repeat}")
    print(f"{'command':32} {'seconds':>8} {'x python':>9}")
    for name, seconds in timings.items():
        print(f"{name:32} {seconds:8.3f} {seconds / floor:9.1f}")
    help_s, profile_s = timings["tunewise --help"], timings["tunewise profile CSV --json"]
    print(f"tunewise --help: {help_s:.3f} s (budget 1 s): {'ok' if help_s < 1 else 'OVER'}")
    torch_s = timings["python -c 'import torch'"]
    print(f"  vs import torch: {torch_s / help_s:.1f}x faster")
    print(f"tunewise profile: {profile_s:.3f} s (budget 5 s): {'ok' if profile_s < 5 else 'OVER'}")
    print(f"  vs datasets.load_dataset alone (no profiling): {timings['datasets.load_dataset(csv)'] / profile_s:.2f}x")


if __name__ == "__main__":
    main()
