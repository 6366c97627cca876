"""`tunewise profile DATA`: describe the data and what is wrong with it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tui.commands.common import add_data_arguments, data_spec


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="describe a data set: task, size, labels, token lengths, duplicates, leakage",
        description="Describe a data set: task, size, labels, token lengths, duplicates and train/eval leakage.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--model",
        help="tokenizer for token lengths (default: minilm-l6 for classification, else smollm2-135m-instruct)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tunewise.data.profile import profile
    from tunewise.data.task import load_task_data

    report = profile(load_task_data(data_spec(args)), model=args.model)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render(report)
    return 0


def render(report: dict[str, Any], max_labels: int = 20) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    split = report["split"]
    tokens = report["token_lengths"]
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("data", report["source"])
    summary.add_row("task", f"{report['task']} ({report['shape']} data)")
    summary.add_row("columns", ", ".join(f"{k}={v}" for k, v in report["columns"].items()))
    summary.add_row("examples", f"{report['n_examples']:,} ({report['empty_rows']} empty rows left out)")
    summary.add_row(
        "split", f"{split['n_train']:,} train / {split['n_eval']:,} eval ({split['origin']}, seed {split['seed']})"
    )
    limit = tokens["model_max_length"]
    summary.add_row(
        "tokens",
        f"p50 {tokens['p50']}, p90 {tokens['p90']}, p95 {tokens['p95']}, p99 {tokens['p99']}, max {tokens['max']} "
        f"under {tokens['model']}" + (f" (limit {limit}, {tokens['n_over_limit']} over)" if limit else ""),
    )
    dup = report["duplicates"]
    summary.add_row(
        "duplicates", f"{dup['exact']} repeated examples, {dup['conflicting_inputs']} inputs with conflicting targets"
    )
    leak = report["leakage"]
    summary.add_row(
        "leakage",
        f"{leak['exact']} exact and {leak['near']} near (Jaccard >= {leak['near_threshold']}) "
        "eval examples also in train" + (" (at least: the search was capped)" if leak["search_capped"] else ""),
    )
    console.print(summary)
    if report["labels"]:
        labels = Table(title=f"{report['n_labels']} labels", title_justify="left")
        labels.add_column("label")
        labels.add_column("examples", justify="right")
        labels.add_column("share", justify="right")
        items = list(report["labels"].items())
        for label, count in items[:max_labels]:
            labels.add_row(label, f"{count:,}", f"{count / report['n_examples']:.1%}")
        if len(items) > max_labels:
            rest = sum(c for _, c in items[max_labels:])
            labels.add_row(f"... {len(items) - max_labels} more", f"{rest:,}", f"{rest / report['n_examples']:.1%}")
        console.print(labels)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
