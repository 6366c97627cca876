"""`tunewise compare`: run the arms on one frozen split and say which to ship.

The command wires the rooms together and nothing more: the split comes from the core
(`tunewise.data.protocol`), the arms from `rag.arms`, the advice, statistics and verdict from the
advisor (`advisor.comparison`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The arms this command runs so far; the prompted arms join them.
AVAILABLE_ARMS = ("rag", "head", "full", "lora", "qlora")
DEFAULT_ARMS = "rag,head"
CHEAPEST_BASELINE = "rag"  # seconds to build, and the yardstick every other arm must beat
TOP_CHOICES = 2  # the advisor's options that `--arms recommended` runs


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run the arms on one frozen split: metrics with intervals, costs, and the arm to ship",
        description="Run the arms on one frozen split (test scored once, every choice on validation) and judge them.",
    )
    parser.add_argument("--data", default="demo", help="training data (default: demo)")
    parser.add_argument("--eval", dest="eval_path", metavar="TEST", help="the test set (default: a split of --data)")
    parser.add_argument("--columns", metavar="MAP", help="column mapping, e.g. text=utterance,label=intent")
    parser.add_argument("--eval-fraction", type=float, default=0.2, help="test share when --eval is absent")
    parser.add_argument(
        "--validation-fraction", type=float, default=0.1, help="share of train every arm chooses on (default: 0.1)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--arms",
        default=DEFAULT_ARMS,
        help=f"comma-separated: {', '.join(AVAILABLE_ARMS)}; or recommended (the advisor's top choices and the "
        f"cheapest baseline), or all (default: {DEFAULT_ARMS})",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training key for the trained arms, as in `tunewise train --set` (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write results.json here (replaced only if a comparison)"
    )
    parser.add_argument("--json", action="store_true", help="print results.json instead of a table")
    parser.set_defaults(run=run)


def _arms(text: str, ranking: list[str]) -> list[str]:
    """The arms named by `--arms`; `recommended` and `all` are resolved against the advisor's ranking."""
    from tunewise.errors import ConfigError

    if text.strip() == "all":
        return list(AVAILABLE_ARMS)
    if text.strip() == "recommended":
        top = [option for option in ranking if option in AVAILABLE_ARMS][:TOP_CHOICES]
        return list(dict.fromkeys([*top, CHEAPEST_BASELINE]))
    arms = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in arms if a not in AVAILABLE_ARMS]
    if not arms or unknown:
        raise ConfigError(
            f"--arms {text}: {', '.join(unknown) or 'nothing'} is not an arm compare runs; choose from "
            f"{', '.join(AVAILABLE_ARMS)}"
        )
    return list(dict.fromkeys(arms))


def run(args: argparse.Namespace) -> int:
    from advisor.answers import collect_answers
    from advisor.comparison import ArmOutcome, summarise
    from advisor.comparison_report import markdown_report
    from advisor.recommend import recommend
    from rag.arms import EmbeddedSplit, run_head, run_rag
    from rag.embed import Embedder
    from tunewise import __version__
    from tunewise.data.protocol import freeze_split
    from tunewise.data.shapes import parse_column_map
    from tunewise.data.task import DataSpec, load_task_data
    from tunewise.errors import TunewiseError
    from tunewise.ownership import COMPARISON, check_target

    if args.arms.strip() not in ("recommended", "all"):
        _arms(args.arms, [])  # a misspelt arm fails before any data is read
    out = check_target(args.out, COMPARISON, flag="--out", inputs=[args.data, args.eval_path]) if args.out else None
    spec = DataSpec(
        path=args.data,
        eval_path=args.eval_path,
        columns=parse_column_map(args.columns),
        eval_fraction=args.eval_fraction,
        seed=args.seed,
    )
    data = load_task_data(spec)
    split = freeze_split(data, args.validation_fraction, args.seed)
    # The advice is fixed before any arm runs, so that the verdict can say whether it held.
    answers, _ = collect_answers(data=data)
    recommendation = recommend(answers, data_path=spec.path)
    advice = recommendation.recommended
    arms = _arms(args.arms, [r.method for r in recommendation.ranking if r.feasible])
    print(f"arms: {', '.join(arms)} (advice: {advice})", file=sys.stderr, flush=True)
    with _workspace(out) as work:
        embedded = EmbeddedSplit.of(split, Embedder()) if {"rag", "head"} & set(arms) else None
        outcomes = []
        for arm in arms:
            print(f"{arm}...", file=sys.stderr, flush=True)
            try:
                if arm in ("rag", "head"):
                    assert embedded is not None
                    result = (run_rag if arm == "rag" else run_head)(embedded)
                else:
                    from harness.arm import run_training_arm

                    result = run_training_arm(split, arm, work / "arms" / arm, args.overrides)
                outcomes.append(ArmOutcome(arm, "ok", result))
            except TunewiseError as exc:  # one arm's failure is its own line; the others still run
                outcomes.append(ArmOutcome(arm, "failed", reason=exc.message))
        gold = [str(r["label"]) for r in split.test.records]
        results = summarise(outcomes, gold, split.ids()["test"], split=split.to_dict(), advice=advice, seed=args.seed)
        results |= {"tunewise_version": __version__, "data": spec.path, "eval": spec.eval_path}
        (work / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        (work / "report.md").write_text(markdown_report(results), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _render(results, out)
    return 0


@contextlib.contextmanager
def _workspace(out: Path | None) -> Iterator[Path]:
    """Where the arms write (trained runs) and results.json goes: built beside `--out` and swapped
    in whole when every arm has finished, or a temporary folder when there is no `--out`."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="tunewise-compare-") as folder:
            yield Path(folder)
        return
    from tunewise.atomic import atomic_folder
    from tunewise.locks import writer_lock
    from tunewise.ownership import COMPARISON

    with writer_lock(out, "this comparison"), atomic_folder(out, COMPARISON) as tmp:
        yield tmp


def _render(results: dict[str, Any], out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="arms on the frozen test set")
    for column in ("arm", "accuracy [95% CI]", "macro-F1", "set-up", "latency p50", "status"):
        table.add_column(column)
    for arm in results["arms"]:
        if arm["status"] != "ok":
            table.add_row(arm["name"], "", "", "", "", f"{arm['status']}: {arm['reason']}")
            continue
        low, high = arm["ci95"]["accuracy"]
        table.add_row(
            arm["name"],
            f"{arm['metrics']['accuracy']:.3f} [{low:.3f}, {high:.3f}]",
            f"{arm['metrics']['macro_f1']:.3f}",
            f"{arm['cost']['setup_seconds']:.1f} s",
            f"{arm['cost']['latency_p50'] * 1000:.0f} ms",
            "ok",
        )
    console = Console()
    console.print(table)
    verdict = results["verdict"]
    if verdict:
        console.print(
            f"best: {verdict['best']} ({'significant' if verdict['significant'] else 'not significant'}); "
            f"ship: [b]{verdict['ship']}[/]; advice {verdict['advice']}: "
            f"{ {True: 'held', False: 'did not hold', None: 'not checked'}[verdict['advice_held']] } "
            f"({verdict['reason']})"
        )
    if out is not None:
        console.print(f"results: {out / 'results.json'}, report: {out / 'report.md'}")
