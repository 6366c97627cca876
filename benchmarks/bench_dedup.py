"""How the train/eval overlap search grows with the data: time and memory against the row count.

    python benchmarks/bench_dedup.py            # 1k to 64k rows, repetitive and ordinary text
    python benchmarks/bench_dedup.py --max-rows 8000

Every data command runs `find_leakage` (tunewise.data.dedup) on its split, so it must grow no
faster than linearly on any data. Two kinds of text, each split 90/10 as `load_task_data` splits:

- repetitive: rows of 6 to 12 words drawn from an 8-word vocabulary (templated chat logs, form
  letters): thousands of rows share each LSH bucket, which made the search quadratic;
- ordinary: rows of 6 to 20 words from a 5,000-word Zipf-distributed vocabulary (random
  letters, 2 to 9 of them: word frequencies as in prose, no shared spelling between words).

Each size runs in a fresh process (peak memory is the process's own). The table prints seconds
and peak MiB per 1,000 rows, and their ratio to the smallest size: a ratio that stays near 1 is
linear growth; a quadratic search doubles it with every doubling of the rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_rows(kind: str, n: int, seed: int = 0) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    if kind == "repetitive":
        vocabulary = ["please", "send", "the", "report", "today", "thanks", "team", "update"]
        lengths = rng.integers(6, 13, size=n)
        weights = None
    else:
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        vocabulary = ["".join(rng.choice(letters, size=int(k))) for k in rng.integers(2, 10, size=5000)]
        lengths = rng.integers(6, 21, size=n)
        ranks = np.arange(1, len(vocabulary) + 1)
        weights = (1 / ranks) / (1 / ranks).sum()
    return [" ".join(rng.choice(vocabulary, size=int(k), p=weights)) for k in lengths]


def measure(kind: str, n: int) -> dict[str, float]:
    """One size, in this process: seconds for the search, peak resident MiB, what it found."""
    from tunewise.data.dedup import find_leakage

    rows = make_rows(kind, n)
    cut = int(n * 0.9)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = find_leakage(rows[:cut], rows[cut:])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "seconds": seconds,
        "peak_mib": peak / 1024,
        "grown_mib": (peak - before) / 1024,
        "exact": report.exact,
        "near": report.near,
        "capped_rows": report.capped_rows,
        "unchecked_rows": report.unchecked_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=64_000)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    sizes = []
    n = 1000
    while n <= args.max_rows:
        sizes.append(n)
        n *= 2
    print(
        f"{'data':<11} {'rows':>7} {'s':>7} {'s/1k rows':>9} {'ratio':>6} {'peak MiB':>9} {'grown':>7} "
        f"{'exact':>6} {'near':>6} {'capped':>7} {'unchecked':>9}"
    )
    for kind in ("repetitive", "ordinary"):
        first_rate = None
        for n in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(n)], capture_output=True, text=True, cwd=REPO, check=True
            )
            result = json.loads(out.stdout)
            rate = result["seconds"] / (n / 1000)
            first_rate = first_rate or rate
            print(
                f"{kind:<11} {n:>7,} {result['seconds']:>7.2f} {rate:>9.3f} {rate / first_rate:>6.2f} "
                f"{result['peak_mib']:>9.0f} {result['grown_mib']:>7.0f} {result['exact']:>6} {result['near']:>6} "
                f"{result['capped_rows']:>7} {result['unchecked_rows']:>9}",
                flush=True,
            )


if __name__ == "__main__":
    main()
