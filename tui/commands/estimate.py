"""`tunewise estimate`: memory, time and cost of one fine-tuning run."""

from __future__ import annotations

import argparse
import json

from advisor.estimate import DEFAULT_LORA_DROPOUT


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
    parser.add_argument("--method", choices=("full", "lora", "qlora"), required=True)
    parser.add_argument(
        "--dtype", choices=("fp32", "bf16", "nf4"), help="default: fp32 on CPU, bf16 on GPU, nf4 for qlora"
    )
    parser.add_argument("--seq-len", type=int, default=256, help="tokens per sequence (default: 256)")
    parser.add_argument("--batch-size", type=int, default=8, help="sequences per step on each device (default: 8)")
    parser.add_argument("--lora-r", type=int, default=16, help="LoRA rank (default: 16)")
    parser.add_argument(
        "--lora-dropout",
        type=float,
        default=DEFAULT_LORA_DROPOUT,
        help=f"LoRA dropout (default: {DEFAULT_LORA_DROPOUT})",
    )
    parser.add_argument("--target-modules", default="all-linear", help="comma-separated names or all-linear (default)")
    parser.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute activations in the backward pass"
    )
    parser.add_argument("--num-labels", type=int, help="train a classification head with this many labels")
    parser.add_argument("--n-examples", type=int, default=1000, help="training examples, for time (default: 1000)")
    parser.add_argument("--epochs", type=float, default=3.0, help="passes over the data (default: 3)")
    parser.add_argument("--tokens-per-example", type=int, help="mean tokens per example (default: half of --seq-len)")
    parser.add_argument(
        "--gpu-memory-gb", type=float, default=24.0, help="each GPU's memory; 0 for CPU only (default: 24)"
    )
    parser.add_argument("--gpu-count", type=int, help="GPUs (default: 1, or 0 with --gpu-memory-gb 0)")
    parser.add_argument("--ram-gb", type=float, default=32.0, help="system memory (default: 32)")
    parser.add_argument("--cpu-cores", type=int, default=8, help="cores, for CPU-only time (default: 8)")
    parser.add_argument("--price-per-gpu-hour", type=float, default=2.0, help="US dollars (default: 2.0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from advisor.answers import build_answers
    from advisor.architectures import parse_param_count, spec_for, spec_from_params
    from advisor.errors import ConfigError
    from advisor.estimate import TrainingPlan, estimate_training
    from advisor.recommend import hardware_of

    for flag, value, minimum in (
        ("--seq-len", args.seq_len, 1),
        ("--batch-size", args.batch_size, 1),
        ("--lora-r", args.lora_r, 1),
        ("--n-examples", args.n_examples, 0),
        ("--epochs", args.epochs, 0),
    ):
        if value < minimum:
            raise ConfigError(f"{flag} must be at least {minimum}, got {value:g}")
    if not 0 <= args.lora_dropout < 1:
        raise ConfigError(f"--lora-dropout must be in [0, 1), got {args.lora_dropout:g}")
    spec = spec_for(args.model) if args.model else spec_from_params(parse_param_count(args.params), args.kind)
    answers = build_answers(
        {
            "gpu_memory_gb": args.gpu_memory_gb,
            "gpu_count": args.gpu_count,
            "ram_gb": args.ram_gb,
            "cpu_cores": args.cpu_cores,
            "price_per_gpu_hour": args.price_per_gpu_hour,
        }
    )
    targets = (
        args.target_modules
        if args.target_modules == "all-linear"
        else [t.strip() for t in args.target_modules.split(",") if t.strip()]
    )
    plan = TrainingPlan(
        method=args.method,
        dtype=args.dtype,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        lora_r=args.lora_r,
        target_modules=targets,
        lora_dropout=args.lora_dropout,
        gradient_checkpointing=args.gradient_checkpointing,
        num_labels=args.num_labels,
        n_examples=args.n_examples,
        epochs=args.epochs,
        tokens_per_example=args.tokens_per_example,
    )
    estimate = estimate_training(spec, plan, hardware_of(answers))
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
