"""`--seeds N`: how many times each trained arm of a comparison trains (`compare`, `demo`, the app)."""

from __future__ import annotations

import argparse

from compare.seeds import AUTO_SEED_MINUTES, AUTO_SEEDS, MAX_SEEDS
from tui.commands import numbers


def add_seeds_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seeds",
        type=numbers.whole,
        metavar="N",
        help=f"train each trained arm N times with other seeds (the split stays), 1 to {MAX_SEEDS}: a lead counts "
        f"only if it holds for every seed (default: {AUTO_SEEDS} when the further runs take under "
        f"{AUTO_SEED_MINUTES:g} minutes, else 1; seeds already in the run registry are reused)",
    )
