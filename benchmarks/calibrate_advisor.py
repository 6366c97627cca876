"""Does the advice hold? The advisor's pick, made from the probe before any arm runs, against the
arm `tunewise compare` says to ship, on public labelled sets.

    python benchmarks/calibrate_advisor.py                  # every set found under ../shared/data
    python benchmarks/calibrate_advisor.py demo tweets      # some of them
    python benchmarks/calibrate_advisor.py --probe-timing   # the probe's own cost, measured afresh

Each set runs `tunewise recommend --from-data TRAIN --eval TEST --detect-hardware --json` (the
probe and the advice) and then `tunewise compare` on the same split with the arms a CPU can
afford (`rag`, `head`, `full`; `lora` too on the small demo). Arms already in the run registry
are reused, so a second run only re-reads them. A pick "holds" when it is the arm `compare`
ships (the cheapest arm tied with the best); it "stays close" when it scores within its own 95%
interval plus 5 points of the best.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
TUNEWISE = [sys.executable, "-m", "tui"]
CLOSE = 0.05  # points of accuracy, beyond the advised arm's own interval


def sets() -> dict[str, tuple[list[str], str]]:
    """Name -> (the data arguments, the arms compared)."""
    vader = SHARED / "vader"
    found: dict[str, tuple[list[str], str]] = {"demo": (["demo"], "rag,head,full,lora")}
    for name in ("tweets", "amazon", "nyt"):
        if (vader / f"{name}_train.csv").is_file():
            train, test = vader / f"{name}_train.csv", vader / f"{name}_test.csv"
            found[name] = ([_shown(train), "--eval", _shown(test)], "rag,head,full")
    banking = SHARED / "banking77"
    if (banking / "train.csv").is_file():
        found["banking77"] = ([_shown(banking / "train.csv"), "--eval", _shown(banking / "test.csv")], "rag,head,full")
    return found


def _shown(path: Path) -> str:
    """The path as the run registry first saw it (relative to the repository), so arms are reused."""
    try:
        return str(Path("..") / path.relative_to(ROOT.parent))
    except ValueError:
        return str(path)


def _json(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([*TUNEWISE, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"tunewise {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(done.stdout))


def calibrate(name: str, data: list[str], arms: str, *, fresh_probe: bool) -> dict[str, Any]:
    train, *test = data
    started = time.perf_counter()
    advice = _json(
        [
            "recommend",
            "--from-data",
            train,
            *test,
            "--detect-hardware",
            "--json",
            *(["--fresh-probe"] if fresh_probe else []),
        ]
    )
    advised_in = time.perf_counter() - started
    compared = _json(["compare", "--data", train, *test, "--arms", arms, "--json"])
    scores = {arm["name"]: arm for arm in compared["arms"] if arm["status"] == "ok"}
    verdict = compared["verdict"]
    pick = advice["recommended"]
    best = scores[verdict["best"]]["metrics"]["accuracy"]
    picked = scores.get(pick)
    close = None
    if picked is not None:
        low, high = picked["ci95"]["accuracy"]
        close = best - picked["metrics"]["accuracy"] <= (high - low) / 2 + CLOSE
    probe = advice["probe"]["labels"]
    return {
        "set": name,
        "examples": advice["probe"]["n_examples"],
        "test": compared["split"]["sizes"]["test"],
        "knn": probe["knn_accuracy"],
        "head": probe["head_accuracy"],
        "curve_gain": round(probe["curve"]["1.0"] - probe["curve"]["0.5"], 4),
        "expected": {r["method"]: r["expected"]["mid"] for r in advice["ranking"] if r.get("expected")},
        "advice": pick,
        "compare_advice": verdict["advice"],
        "measured": {name: arm["metrics"]["accuracy"] for name, arm in scores.items()},
        "best": verdict["best"],
        "ship": verdict["ship"],
        "holds": pick == verdict["ship"],
        "close": close,
        "probe_seconds": advice["probe"]["seconds"],
        "recommend_seconds": round(advised_in, 1),
        "_advice": advice,
    }


def sensitivity(rows: list[dict[str, Any]]) -> None:
    """How many picks would still equal the shipped arm with other constants: round numbers
    that hold over a range are a principle; a knife-edge would be a fit to these sets."""
    from advisor import expectations
    from advisor.answers import build_answers
    from advisor.recommend import recommend
    from tunewise.probes import Probe

    print("\nadvice == ship, by the two weights of the fine-tuning gain (rows: GAP_WEIGHT; columns: PER_LABEL_FULL)")
    per_label = (100, 200, 300, 500, 1000)
    print("| GAP_WEIGHT | " + " | ".join(str(p) for p in per_label) + " |")
    print("|---|" + "---|" * len(per_label))
    saved = expectations.GAP_WEIGHT, expectations.PER_LABEL_FULL
    try:
        for gap in (0.5, 1.0, 1.5, 2.0, 3.0):
            cells = []
            for full in per_label:
                expectations.GAP_WEIGHT, expectations.PER_LABEL_FULL = gap, full
                held = 0
                for row in rows:
                    advice = row["_advice"]
                    answers = build_answers(advice["answers"])
                    probe = Probe.from_dict(advice["probe"])
                    pick = recommend(answers, probe=probe, test_size=row["test"]).recommended
                    held += pick == row["ship"]
                cells.append(f"{held}/{len(rows)}")
            print(f"| {gap:g} | " + " | ".join(cells) + " |")
    finally:
        expectations.GAP_WEIGHT, expectations.PER_LABEL_FULL = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="sets to run (default: all found)")
    parser.add_argument("--probe-timing", action="store_true", help="measure each probe afresh (not from the cache)")
    args = parser.parse_args()
    available = sets()
    chosen = args.names or list(available)
    missing = [n for n in chosen if n not in available]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)} (the public sets live in ../shared/data)")
    rows = [calibrate(n, *available[n], fresh_probe=args.probe_timing) for n in chosen]
    print(
        "| set | examples / test | k-NN | head | curve gain | expected full | advice | rag | head | full | ship | holds | close | probe s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m = r["measured"]
        print(
            f"| {r['set']} | {r['examples']:,} / {r['test']:,} | {r['knn']:.3f} | {r['head']:.3f} | "
            f"{r['curve_gain']:+.3f} | {r['expected'].get('full', 0):.3f} | `{r['advice']}` | "
            + " | ".join(f"{m[a]:.3f}" if a in m else "-" for a in ("rag", "head", "full"))
            + f" | `{r['ship']}` | {'yes' if r['holds'] else 'no'} | {'yes' if r['close'] else 'no'} | "
            f"{r['probe_seconds']:.1f} |"
        )
    held = sum(r["holds"] for r in rows)
    print(
        f"\nadvice == ship in {held} of {len(rows)}; within interval + {CLOSE * 100:.0f} points in "
        f"{sum(bool(r['close']) for r in rows)} of {len(rows)}"
    )
    sensitivity(rows)
    print(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], indent=1))


if __name__ == "__main__":
    main()
