"""`tunewise validate FILE.jsonl --for openai`: the service's checks, offline, with the job's cost."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tui.commands import numbers

if TYPE_CHECKING:
    from hosted.validate import Report

# Problems shown one per line; past this many, the rest are counted (all are in --json).
SHOWN = 50


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hosted.prices import DEFAULT_EPOCHS, DEFAULT_MODEL

    parser = subparsers.add_parser(
        "validate",
        help="check a fine-tuning JSONL file as OpenAI's service would, count its tokens and price the job",
        description=(
            "Check a fine-tuning JSONL file the way OpenAI's service does before a job starts (JSON per line, "
            "roles and their order, empty content, at least 10 examples, examples over the model's context, "
            "duplicates), each problem with its line; count tokens with tiktoken and price the job "
            "(billed tokens = tokens in the file x epochs). Exits 1 when the service would refuse the file."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl")
    parser.add_argument("--for", dest="target", choices=("openai",), default="openai", help="the service (openai)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"the model to fine-tune (default: {DEFAULT_MODEL})")
    parser.add_argument(
        "--epochs", type=numbers.whole, default=DEFAULT_EPOCHS, help=f"epochs (default: {DEFAULT_EPOCHS})"
    )
    parser.add_argument(
        "--price-per-1m-tokens", type=numbers.finite, metavar="USD", help="the price per million training tokens (default: "
        "the dated table in docs/hosted.md, for the models it lists)"
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hosted.validate import validate_file

    report = validate_file(args.file, model=args.model, epochs=args.epochs, price_per_1m=args.price_per_1m_tokens)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        render(report)
    return 1 if report.errors else 0


def render(report: Report) -> None:
    summary = report.to_dict()
    tokens = summary["tokens"]
    for problem in report.problems[:SHOWN]:
        print(f"{problem.where(report.path)}: {problem.severity}: {problem.message}")
    if len(report.problems) > SHOWN:
        print(f"... and {len(report.problems) - SHOWN} more (--json lists them all)")
    print(f"{report.path}: {report.n_examples:,} examples ({report.format}), {len(report.errors)} errors, "
          f"{len(report.warnings)} warnings")  # fmt: skip
    limit = f", context {tokens['context_limit']:,}" if tokens["context_limit"] else ""
    print(f"tokens: {tokens['total']:,} in all; per example min {tokens['min']:,}, mean {tokens['mean']:,}, "
          f"max {tokens['max']:,}{limit}")  # fmt: skip
    if report.cost is not None:
        cost = report.cost
        print(f"cost: {cost.file_tokens:,} tokens x {cost.epochs} epochs = {cost.billed_tokens:,} billed tokens x "
              f"${cost.price_per_1m:.2f}/1M = ${cost.dollars:.2f} on {cost.model} (price: {cost.price_source})")  # fmt: skip
    print("the service would refuse this file" if report.errors else "ready to upload")
