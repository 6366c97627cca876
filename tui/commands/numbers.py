"""One rule for every number flag: finite, within the range the work below can hold.

argparse calls these as `type=`: a bad value is refused with the flag's name and exit 2 before
anything runs. Not a number, infinity, a seed numpy cannot take (above 2**32 - 1) or a count
SQLite cannot store (above 2**63 - 1) would otherwise surface later as a crash, or as `NaN` in
a results file that other readers cannot parse.
"""

from __future__ import annotations

import argparse
import math

MAX_SEED = 2**32 - 1  # numpy's and torch's seeds
MAX_COUNT = 2**63 - 1  # SQLite's integers


def finite(text: str) -> float:
    """A real number: not `nan`, not `inf`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number; give a plain number such as 0.5")
    return value


def whole(text: str) -> int:
    """A whole number that fits in 64 bits."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text} is too large; give a number below {MAX_COUNT:,}")
    return value


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1."""
    value = whole(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text} is not a seed; give a whole number from 0 to {MAX_SEED:,}")
    return value
