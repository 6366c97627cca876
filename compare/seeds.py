"""How many times a trained arm trains: what `--seeds` asks, else several when they are cheap.

Small-data fine-tuning swings by several points between seeds (the new head's initial weights,
dropout and data order; Dodge et al. 2020), so one run's lead can be luck. A comparison trains
each trained arm more than once when the further runs cost minutes, judged by the first run's
work (CPU seconds per thread, which another job on the machine hardly stretches), and never past
what is left of the budget. The split stays frozen across seeds: only the training varies.
"""

from __future__ import annotations

from tunewise.units import human_duration

# Without --seeds, a trained arm is trained this many times when the further runs take no more
# than AUTO_SEED_MINUTES in all (by the first run's time): enough to see whether a lead survives
# another seed, at a cost measured in minutes; an arm that trains for hours is trained once.
AUTO_SEEDS = 3
AUTO_SEED_MINUTES = 10.0
MAX_SEEDS = 20  # each seed is a whole training run


def seed_count(took: float, asked: int | None, seconds_left: float | None) -> tuple[int, str]:
    """How many seeds for an arm whose first run took `took` seconds of work, and why, in words:
    `asked` (from --seeds), else `AUTO_SEEDS` when the further runs fit `AUTO_SEED_MINUTES`, else
    one; never more than `seconds_left` of the budget holds (None: no budget)."""
    each = human_duration(took / 3600)
    if asked is not None:
        wanted, said = asked, f"{asked} seed(s), as --seeds asks"
    elif took * (AUTO_SEEDS - 1) <= AUTO_SEED_MINUTES * 60:
        wanted, said = AUTO_SEEDS, f"{AUTO_SEEDS} seeds: each trains in about {each} (--seeds 1 trains once)"
    else:
        wanted, said = 1, f"one seed: it trains in {each}, too long to repeat by default (--seeds N trains N)"
    if seconds_left is not None and wanted > 1 and took > 0:
        fits = 1 + max(0, int(seconds_left // took))
        if fits < wanted:
            wanted, said = fits, f"{said}; {fits} fit the rest of the budget"
    return wanted, said
