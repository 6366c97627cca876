"""`tunewise runs list|show`: what the run registry recorded (index builds, training runs,
comparisons and their arms)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tui.commands import numbers

KINDS = ("index", "train", "arm", "comparison")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="the run registry: every index build, training run and comparison",
        description="The run registry: every index build, training run, comparison and comparison arm.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the latest runs, newest first")
    listing.add_argument("--kind", choices=KINDS, help="only runs of this kind")
    listing.add_argument("--limit", type=numbers.whole, default=30, help="how many (default: 30)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="one run in full: config, metrics, artifact, timings")
    show.add_argument("id", type=numbers.whole, metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=run_show)
    calibration = actions.add_parser(
        "calibration",
        help="the estimator against this machine: measured over estimated time and memory, by model and method",
    )
    calibration.add_argument("--json", action="store_true", help="print JSON")
    calibration.set_defaults(run=run_calibration)


def run_calibration(args: argparse.Namespace) -> int:
    """Every (model, method, hardware) trained here with a forecast: its runs and median ratios."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from advisor.calibration import MIN_RUNS, machine_history, ratios
    from tunewise.registry import Registry, check_registry_path

    check_registry_path(Registry().path)
    found = ratios(machine_history())
    if args.json:
        print(json.dumps([asdict(ratio) | {"used": ratio.runs >= MIN_RUNS} for ratio in found], indent=2))
        return 0
    if not found:
        print(
            "no training with a forecast recorded on this machine yet: the trained arms of `tunewise compare` record one"
        )
        return 0
    table = Table(title="measured / estimated on this machine (medians; the advice uses a row from "
                        f"{MIN_RUNS} runs)")  # fmt: skip
    for column in ("model", "method", "hardware", "runs", "time", "memory", "advice"):
        table.add_column(column)
    for ratio in found:
        table.add_row(
            ratio.model, ratio.method, ratio.hardware, str(ratio.runs), f"{ratio.time:.2f}x",
            f"{ratio.memory:.2f}x" if ratio.memory is not None else "-",
            "uses it" if ratio.runs >= MIN_RUNS else f"needs {MIN_RUNS - ratio.runs} more",
        )  # fmt: skip
    Console().print(table)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tunewise.errors import ConfigError
    from tunewise.registry import Registry, check_registry_path

    if args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    registry = Registry()
    check_registry_path(registry.path)
    runs = registry.runs(limit=args.limit, kind=args.kind) if registry.path.exists() else []
    if args.json:
        print(json.dumps([run.to_dict() for run in runs], indent=2))
        return 0
    if not runs:
        print(f"no runs recorded yet in {registry.path}")
        return 0
    table = Table(title=f"runs in {registry.path}")
    for column in ("id", "kind", "name", "status", "started", "seconds", "metrics"):
        table.add_column(column)
    for run in runs:
        shown = run.to_dict()
        table.add_row(
            str(run.id),
            run.kind,
            run.name,
            shown["status"],
            shown["started_at"],
            f"{run.seconds:.1f}" if run.seconds is not None else "",
            _summary(run.metrics) or run.reason,
        )
    Console().print(table)
    return 0


def _summary(metrics: dict[str, Any]) -> str:
    """The scores people read, else every plain value (an index's size, a verdict's ship)."""
    from tunewise.metrics import metrics_line

    numbers = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return metrics_line(numbers) or "  ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items() if v is not None
    )


def run_show(args: argparse.Namespace) -> int:
    from tunewise.errors import ConfigError, printable
    from tunewise.registry import Registry, check_registry_path

    registry = Registry()
    check_registry_path(registry.path)
    if not registry.path.exists():
        raise ConfigError(f"run {args.id}: no runs recorded yet in {registry.path}")
    shown = registry.get(args.id).to_dict()
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    if shown["seconds"] is not None:
        shown["seconds"] = round(shown["seconds"], 1)
    for key in ("id", "kind", "name", "status", "started_at", "seconds", "artifact", "data_hash", "command", "reason"):
        if shown[key] not in (None, ""):
            print(f"{key}: {printable(str(shown[key]))}")
    # json.dumps escapes control characters inside strings; keys and values are safe as printed
    print("config: " + json.dumps(shown["config"], sort_keys=True))
    print("metrics: " + json.dumps(shown["metrics"], sort_keys=True))
    return 0
