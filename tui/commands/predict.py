"""`tunewise predict RUN INPUT...`: a trained run's label or answer for each input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tui.commands import numbers


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="label or answer inputs with a trained run (full weights or adapter)",
        description="Load a run folder (or a model/adapter folder) and label or answer each INPUT.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN", help="a run folder written by `tunewise train`")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="texts to classify, or prompts to answer")
    parser.add_argument(
        "--max-new-tokens", type=numbers.whole, default=64, help="longest answer for generation (default: 64)"
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the fastest present)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from harness.predict import classify, generate_answers, load_trained
    from tunewise.data.shapes import Shape
    from tunewise.errors import ConfigError

    if args.max_new_tokens < 1:
        raise ConfigError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    trained = load_trained(args.run_dir, device=args.device)
    if trained.task == "classification":
        outputs = classify(trained, args.inputs)
    else:
        records = [{"prompt": text, "completion": ""} for text in args.inputs]
        outputs = generate_answers(
            trained.model, trained.tokenizer, Shape.PROMPT_COMPLETION, records, args.max_new_tokens
        )
    if args.json:
        print(json.dumps([{"input": i, "output": o} for i, o in zip(args.inputs, outputs, strict=True)], indent=2))
    else:
        for output in outputs:
            print(output)
    return 0
