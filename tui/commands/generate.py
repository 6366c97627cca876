"""`tunewise generate PROMPT`: answer a prompt with a local causal LM (a quick smoke test)."""

from __future__ import annotations

import argparse

from tui.commands import numbers


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="answer a prompt with a causal LM (greedy decoding)",
        description="Answer one or more prompts with a causal LM, greedily. Prepares the model first if needed.",
    )
    parser.add_argument("prompts", nargs="+", metavar="PROMPT")
    parser.add_argument(
        "--model", default="smollm2-135m-instruct", help="alias, folder or hub id (default: smollm2-135m-instruct)"
    )
    parser.add_argument(
        "--max-new-tokens", type=numbers.whole, default=64, help="longest answer in tokens (default: 64)"
    )
    parser.add_argument("--system", help="system prompt, for models with a chat template")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the fastest present)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tunewise.inference import generate

    for result in generate(
        args.model, args.prompts, max_new_tokens=args.max_new_tokens, system=args.system, device=args.device
    ):
        print(result.text)
    return 0
