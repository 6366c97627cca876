"""`tunewise estimate`: memory, time and cost of one fine-tuning run."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tunewise.defaults import DEFAULT_LORA_DROPOUT
from tunewise.names import METHODS

# Number flags (by dest) and the type each is read as. They are read like the questionnaire's
# answers (7e9, 1,200, 2k) rather than by argparse, so a bad one is one `tunewise: error:` line.
NUMBER_FLAGS = {
    "seq_len": "int",
    "batch_size": "int",
    "lora_r": "int",
    "lora_dropout": "float",
    "num_labels": "int | None",
    "n_examples": "int",
    "epochs": "float",
    "tokens_per_example": "int | None",
    "gpu_memory_gb": "float",
    "gpu_count": "int | None",
    "ram_gb": "float",
    "cpu_cores": "int",
    "price_per_gpu_hour": "float",
}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "estimate",
        help="memory, time and cost of full fine-tuning, LoRA or QLoRA for a model",
        description="Estimate trainable parameters, peak memory by component, adapter size, time and cost.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model", help="built-in alias, local folder, cached hub id or well-known name (e.g. llama-2-7b)"
    )
    which.add_argument("--params", help="a parameter count instead of a model, e.g. 7e9 or 7B")
    parser.add_argument(
        "--kind", choices=("causal-lm", "encoder"), default="causal-lm", help="with --params (default: causal-lm)"
    )
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument(
        "--dtype", choices=("fp32", "bf16", "nf4"), help="default: fp32 on CPU, bf16 on GPU, nf4 for qlora"
    )
    parser.add_argument("--seq-len", default=256, help="tokens per sequence (default: 256)")
    parser.add_argument("--batch-size", default=8, help="sequences per step on each device (default: 8)")
    parser.add_argument("--lora-r", default=16, help="LoRA rank (default: 16)")
    parser.add_argument(
        "--lora-dropout",
        default=DEFAULT_LORA_DROPOUT,
        help=f"LoRA dropout (default: {DEFAULT_LORA_DROPOUT})",
    )
    parser.add_argument("--target-modules", default="all-linear", help="comma-separated names or all-linear (default)")
    parser.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute activations in the backward pass"
    )
    parser.add_argument("--num-labels", help="train a classification head with this many labels")
    parser.add_argument("--n-examples", default=1000, help="training examples, for time (default: 1000)")
    parser.add_argument("--epochs", default=3.0, help="passes over the data (default: 3)")
    parser.add_argument("--tokens-per-example", help="mean tokens per example (default: half of --seq-len)")
    parser.add_argument("--gpu-memory-gb", default=24.0, help="each GPU's memory; 0 for CPU only (default: 24)")
    parser.add_argument("--gpu-count", help="GPUs (default: 1, or 0 with --gpu-memory-gb 0)")
    parser.add_argument("--ram-gb", default=32.0, help="system memory (default: 32)")
    parser.add_argument("--cpu-cores", default=8, help="cores, for CPU-only time (default: 8)")
    parser.add_argument("--price-per-gpu-hour", default=2.0, help="US dollars (default: 2.0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def _numbers(args: argparse.Namespace) -> dict[str, Any]:
    """The number flags, read and typed; an unreadable one is a `ConfigError` naming its flag."""
    from tunewise.values import coerce_value

    return {
        dest: coerce_value("--" + dest.replace("_", "-"), kind, getattr(args, dest))
        for dest, kind in NUMBER_FLAGS.items()
    }


def run(args: argparse.Namespace) -> int:
    from advisor.answers import build_answers
    from advisor.architectures import parse_param_count, spec_for, spec_from_params
    from advisor.estimate import TrainingPlan, estimate_training, validate_plan
    from advisor.recommend import hardware_of
    from tunewise.defaults import MAX_PARAMS
    from tunewise.values import check_range

    numbers = _numbers(args)
    targets = (
        args.target_modules
        if args.target_modules == "all-linear"
        else [t.strip() for t in args.target_modules.split(",") if t.strip()]
    )
    plan = TrainingPlan(
        method=args.method,
        dtype=args.dtype,
        batch_size=numbers["batch_size"],
        seq_len=numbers["seq_len"],
        lora_r=numbers["lora_r"],
        target_modules=targets,
        lora_dropout=numbers["lora_dropout"],
        gradient_checkpointing=args.gradient_checkpointing,
        num_labels=numbers["num_labels"],
        n_examples=numbers["n_examples"],
        epochs=numbers["epochs"],
        tokens_per_example=numbers["tokens_per_example"],
    )
    warnings = validate_plan(plan)  # before the model is looked up: flags first, files later
    hardware = ("gpu_memory_gb", "gpu_count", "ram_gb", "cpu_cores", "price_per_gpu_hour")
    answers = build_answers({key: numbers[key] for key in hardware})
    if args.model:
        spec = spec_for(args.model)
    else:
        params = parse_param_count(args.params)
        check_range("--params", params, 1, MAX_PARAMS, "fifty times the largest published models")
        spec = spec_from_params(params, args.kind)
    estimate = estimate_training(spec, plan, hardware_of(answers))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(estimate.to_dict(), indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.method} on {spec.name}, {estimate.dtype}, {estimate.device}", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("parameters", f"{estimate.total_params:,}")
    table.add_row(
        "trainable", f"{estimate.trainable_params:,} ({estimate.trainable_params / estimate.total_params:.3%})"
    )
    for part, gb in estimate.memory.to_dict().items():
        table.add_row(part.removesuffix("_gb").replace("total", "peak memory"), f"{gb:,.2f} GB")
    table.add_row("saved checkpoint", f"{estimate.adapter_bytes / 1e6:,.1f} MB")
    table.add_row("training tokens", f"{estimate.tokens:,.0f}")
    table.add_row("time", f"{estimate.hours:,.2f} h")
    table.add_row("cost", f"${estimate.cost_usd:,.2f}")
    table.add_row("fits", "yes" if estimate.fits else "[red]no[/]")
    Console().print(table)
    for note in estimate.notes:
        print(f"note: {note}")
    return 0
