"""`tunewise export DATA --format openai-chat --out FILE.jsonl`: fine-tuning files for OpenAI's API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.commands.common import add_data_arguments, data_spec


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write DATA as OpenAI fine-tuning JSONL (train and validation files from the standard split)",
        description=(
            "Write any data tunewise reads as the JSONL that OpenAI's fine-tuning API takes: one "
            '{"messages": [...]} per line (openai-chat), or the legacy {"prompt", "completion"} lines '
            "(openai-completion). The train file goes to --out and the validation file beside it "
            "(train.jsonl -> train_validation.jsonl), split as every other command splits. Check the "
            "result with `tunewise validate FILE --for openai`."
        ),
    )
    add_data_arguments(parser)
    parser.add_argument("--format", choices=("openai-chat", "openai-completion"), default="openai-chat")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl", help="the train file to write")
    parser.add_argument("--system", metavar="TEXT", help="a system message to put first in every example")
    parser.add_argument("--overwrite", action="store_true", help="replace the output files if they exist")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hosted.export import export
    from tunewise.data.task import load_task_data

    data = load_task_data(data_spec(args))
    for warning in data.warnings:  # leakage above all: the service's validation scores would flatter the model
        print(f"warning: {warning}", file=sys.stderr)
    result = export(data, args.format, args.out, args.system, overwrite=args.overwrite)
    print(f"wrote {result.train_path} ({result.n_train:,} examples) and {result.validation_path} "
          f"({result.n_validation:,} examples)")  # fmt: skip
    print(f"check them: tunewise validate {result.train_path} --for openai")
    return 0
