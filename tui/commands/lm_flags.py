"""`--lm` and its company: the model the prompted arms ask, local, served or hosted, and its price."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from compare.plan import ComparisonPlan, LmChoice
from tui.commands import numbers

if TYPE_CHECKING:
    from hosted.served_arms import Served


def add_lm_arguments(parser: argparse.ArgumentParser, local: str) -> None:
    """`--lm` (what `local` says of a local model, then the served and hosted forms), and the
    flags of a served model: which model, which key, how many calls at once, its price."""
    parser.add_argument(
        "--lm",
        metavar="MODEL",
        help=f"{local}, a served one (http://HOST:PORT/v1: llama.cpp, vLLM, Ollama, LM Studio, TGI) or a hosted one "
        "(openai:gpt-4o-mini, the key from OPENAI_API_KEY)",
    )
    parser.add_argument("--lm-model", metavar="NAME", help="with --lm URL: the model, where the server serves several")
    parser.add_argument(
        "--lm-key-env",
        metavar="VAR",
        help="the environment variable holding the served model's key (read, never written; default for openai: "
        "OPENAI_API_KEY, for a URL: none)",
    )
    parser.add_argument(
        "--lm-concurrency",
        type=numbers.whole,
        default=ComparisonPlan.lm_concurrency,
        metavar="N",
        help=f"calls to a served model at once (default: {ComparisonPlan.lm_concurrency})",
    )
    for flag, what in (("--price-in", "sent to"), ("--price-out", "answered by")):
        parser.add_argument(
            flag,
            type=numbers.finite,
            metavar="USD",
            help=f"US dollars per 1M tokens {what} the served model (default: the dated table for OpenAI's "
            "models, 0 for a server of your own)",
        )


def lm_choice(args: argparse.Namespace) -> LmChoice:
    return LmChoice(args.lm, args.lm_model, args.lm_key_env, args.lm_concurrency, args.price_in, args.price_out)


def served_from(args: argparse.Namespace, *, fresh: bool = False) -> Served | None:
    """The served model the flags name, connected and priced (one line if it cannot be), or None."""
    from hosted.served import endpoint_of
    from hosted.served_arms import connect
    from tunewise.errors import ConfigError

    endpoint = endpoint_of(args.lm, model=args.lm_model, key_env=args.lm_key_env)
    if endpoint is None:
        if args.price_in is not None or args.price_out is not None:
            raise ConfigError("--price-in and --price-out price a served model's tokens; give --lm URL or openai:MODEL")
        return None
    if args.lm_concurrency < 1:
        raise ConfigError(f"--lm-concurrency must be at least 1, got {args.lm_concurrency}")
    return connect(endpoint, concurrency=args.lm_concurrency, usd_in=args.price_in, usd_out=args.price_out, fresh=fresh)
