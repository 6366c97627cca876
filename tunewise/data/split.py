"""A deterministic train/eval split.

Examples whose inputs are equal after normalisation form one group and always land on the
same side, so the split itself never leaks an example into eval. With labels the split is
stratified: each label sends its share of groups to eval, and a label with a single group
stays in train (eval could not score it fairly otherwise). The same seed gives the same split
on every machine: only `random.Random(seed)` is involved.
"""

from __future__ import annotations

import random
from collections import defaultdict

from tunewise.data.dedup import normalise

DEFAULT_EVAL_FRACTION = 0.2
DEFAULT_SEED = 42


def split_indices(
    inputs: list[str],
    labels: list[str] | None = None,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    seed: int = DEFAULT_SEED,
) -> tuple[list[int], list[int]]:
    """Return sorted (train, eval) positions; eval is never empty when there are two groups."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be between 0 and 1, got {eval_fraction}")
    groups: dict[str, list[int]] = {}
    for position, text in enumerate(inputs):
        groups.setdefault(normalise(text) or text, []).append(position)

    strata: dict[str, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        # A group's stratum is the label of its first member; mixed-label groups are rare
        # and reported as conflicts by the profile.
        strata[labels[members[0]] if labels is not None else ""].append(members)

    rng = random.Random(seed)
    train: list[int] = []
    evaluation: list[int] = []
    for stratum in sorted(strata):
        members_list = strata[stratum]
        rng.shuffle(members_list)
        size = sum(len(m) for m in members_list)
        target = round(size * eval_fraction) if len(members_list) >= 2 else 0
        taken = 0
        # The last group in shuffled order always trains, so every label keeps an example.
        for members in members_list[:-1]:
            if taken < target:
                evaluation.extend(members)
                taken += len(members)
            else:
                train.extend(members)
        train.extend(members_list[-1])
    if not evaluation:
        # Tiny data sets: hold out one group from a stratum that can spare it, so that
        # evaluation is possible at all without leaving a label unseen in training.
        spare = [g for members_list in strata.values() if len(members_list) >= 2 for g in members_list]
        if spare:
            chosen = set(sorted(spare, key=lambda g: (len(g), g[0]))[rng.randrange(len(spare))])
            train = [p for p in train if p not in chosen]
            evaluation = sorted(chosen)
    return sorted(train), sorted(evaluation)
