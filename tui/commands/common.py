"""Arguments shared by every command that reads the user's data."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.commands import numbers
from tunewise.names import TASKS

if TYPE_CHECKING:
    from tunewise.data.task import DataSpec


def add_data_arguments(parser: argparse.ArgumentParser, *, data_required: bool = False) -> None:
    parser.add_argument(
        "data",
        nargs=None if data_required else "?",
        default="demo",
        metavar="DATA",
        help="CSV, TSV, JSON, JSONL, Parquet, a `datasets` save_to_disk folder, a folder of .txt/.md "
        "documents, or a built-in data set: demo (topic classification), demo-qa (default: demo)",
    )
    parser.add_argument(
        "--eval", dest="eval_path", metavar="FILE", help="your own eval data (default: a split of DATA)"
    )
    parser.add_argument("--task", choices=TASKS, help="override the task the data's shape implies")
    parser.add_argument(
        "--columns",
        metavar="MAP",
        help="which columns hold what, e.g. text=utterance,label=intent (fields: text, label, prompt, "
        "completion, messages, question, answer, context, id)",
    )
    parser.add_argument(
        "--eval-fraction", type=numbers.finite, default=0.2, metavar="F", help="share held out for eval (default: 0.2)"
    )
    parser.add_argument("--seed", type=numbers.seed, default=42, help="seed of the train/eval split (default: 42)")


def data_spec(args: argparse.Namespace) -> DataSpec:
    from tunewise.data.shapes import parse_column_map
    from tunewise.data.task import DataSpec

    return DataSpec(
        path=args.data,
        eval_path=args.eval_path,
        task=args.task,
        columns=parse_column_map(args.columns),
        eval_fraction=args.eval_fraction,
        seed=args.seed,
    )
