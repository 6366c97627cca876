"""`tunewise compare` end to end, and what the comparison itself costs beyond its arms.

    python benchmarks/bench_compare.py banking77 --out /tmp/b77   # every arm on BANKING77 (about an hour on 2 cores)
    python benchmarks/bench_compare.py overhead                  # compare --arms rag,head against the arms alone

`banking77` runs one command, `tunewise compare` on `../shared/data/banking77` (its own test
split) with `prompting` on a 300-question sample, `rag`, `head`, `full` and `lora`, and prints
the report. `overhead` times, each in a fresh process, `tunewise compare --arms rag,head` and a
script that runs only the two arms (load and split the data, embed once, build the index and
choose k, fit the head and choose C, score both once, with their latency samples), and prints
the ratio; both are run `--repeats` times, alternating, and the medians compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BANKING77 = REPO.parent / "shared" / "data" / "banking77"
TUNEWISE = [sys.executable, "-m", "tui"]

ARMS_ALONE = """
import sys
from rag.arms import EmbeddedSplit, run_head, run_rag
from rag.embed import Embedder
from tunewise.data.protocol import freeze_split
from tunewise.data.task import DataSpec, load_task_data

split = freeze_split(load_task_data(DataSpec(path=sys.argv[1], eval_path=sys.argv[2] or None)), 0.1, 42)
embedded = EmbeddedSplit.of(split, Embedder())
for arm in (run_rag, run_head):
    print(arm(embedded).metrics["accuracy"])
"""


def _banking77(out: Path) -> None:
    command = [
        *TUNEWISE,
        "compare",
        "--data",
        str(BANKING77 / "train.csv"),
        "--eval",
        str(BANKING77 / "test.csv"),
        "--arms",
        "prompting,rag,head,full,lora",
        "--prompt-sample",
        "300",
        "--out",
        str(out),
    ]
    print(" ".join(command[2:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    print(f"wall time {time.perf_counter() - started:.0f} s")
    print((out / "report.md").read_text())


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _overhead(data: str, eval_path: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        compare = [*TUNEWISE, "compare", "--data", data, "--arms", "rag,head", "--fresh", "--out", f"{folder}/c"]
        if eval_path:
            compare += ["--eval", eval_path]
        alone = [sys.executable, "-c", ARMS_ALONE, data, eval_path]
        _timed(alone)  # warm the file cache and the model once, for both
        arms, whole = [], []
        for _ in range(repeats):
            arms.append(_timed(alone))
            whole.append(_timed(compare))
    a, w = statistics.median(arms), statistics.median(whole)
    shown = ", ".join(f"{t:.1f}" for t in arms), ", ".join(f"{t:.1f}" for t in whole)
    print(f"arms alone: {shown[0]} s; compare --arms rag,head: {shown[1]} s")
    print(f"medians of {repeats}: arms alone {a:.1f} s, compare {w:.1f} s: {w / a:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("banking77", "overhead"))
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tunewise-banking77")
    parser.add_argument("--data", help="overhead: training data (default: BANKING77 when ../shared has it, else demo)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "banking77":
        if not BANKING77.is_dir():
            sys.exit(f"{BANKING77} is missing: this benchmark needs ../shared/data/banking77")
        _banking77(args.out)
        return
    if args.data:
        data, eval_path = args.data, ""
    elif BANKING77.is_dir():
        data, eval_path = str(BANKING77 / "train.csv"), str(BANKING77 / "test.csv")
    else:
        data, eval_path = "demo", ""
    _overhead(data, eval_path, args.repeats)


if __name__ == "__main__":
    main()
