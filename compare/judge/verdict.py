"""The verdict of a comparison: which arm is best, whether that is significant, which to ship,
and whether the advice given before any arm ran has held.

Every arm was scored on the same test examples (`tunewise.data.protocol`), so arms are compared
pairwise on those examples: exact McNemar for classification (right or wrong per example), a
paired bootstrap otherwise (a score per example). An arm trained with several seeds is several
runs on those examples; two arms are told apart only when every pairing of their runs is (the
largest p-value stands), so a verdict never rests on the luck of one training run. "Ship" is the
cheapest arm statistically tied with the best: quality first, and among arms that cannot be told
apart, the one that costs least to set up (in work done: CPU time where it was measured, which
another job on the machine cannot swap) and then to run.

The advice held when the advised arm is the arm that ships; advice tied with the best but
dearer than what ships is "tied", and says at how many times the cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from compare.judge.statistics import mcnemar_exact, paired_bootstrap
from compare.results import Verdict
from tunewise.units import human_duration

ALPHA = 0.05  # below this p-value, two arms are told apart
# Set-up costs within this ratio of each other are the same cost: the work measure moves by up to
# a tenth with the load beside it (docs/benchmarks.md), and two trainings of one config by as much.
# Among tied arms that cost the same, the higher score ships.
SAME_COST = 1.25


@dataclass
class ArmScore:
    """What the verdict reads of one arm that ran."""

    name: str
    score: float  # the task's primary metric on the test set
    per_example: Sequence[float]  # 1/0 correctness for classification, else each example's score
    setup_seconds: float  # index build or training
    seconds_per_example: float = 0.0  # inference latency
    ids: Sequence[str] = ()  # the test examples `per_example` scores, when arms scored different samples
    # The same examples scored by each further training seed (its runs beyond the first), and the
    # set-up in work done (CPU seconds per thread it trained with) where measured: load-proof.
    more_seeds: Sequence[Sequence[float]] = ()
    setup_work: float | None = None

    @property
    def runs(self) -> list[Sequence[float]]:
        """Each run's per-example scores: one per training seed, one for an arm that does not train."""
        return [self.per_example, *self.more_seeds]


def p_value(a: ArmScore, b: ArmScore, classification: bool) -> float:
    """Two-sided p-value that arms `a` and `b` differ only by chance on their shared examples:
    the largest over every pairing of their runs (training seeds), so that a difference counts
    only when it survives whichever seed each arm was trained with.

    An arm scored on a sample of the test set (a slow prompted arm) is paired with the other on
    that sample only, so both sides always answer the same questions.
    """
    worst = 0.0
    for first_run, second_run in itertools.product(a.runs, b.runs):
        first, second = _paired(a, first_run, b, second_run)
        if classification:
            value = mcnemar_exact([bool(x) for x in first], [bool(x) for x in second])
        else:
            value = paired_bootstrap(first, second)
        worst = max(worst, value)
    return worst


def _paired(
    a: ArmScore, a_scores: Sequence[float], b: ArmScore, b_scores: Sequence[float]
) -> tuple[list[float], list[float]]:
    if not a.ids or not b.ids:  # unlabelled scores pair by position, and only when they line up
        if len(a_scores) != len(b_scores):
            raise ValueError(f"{a.name} and {b.name} were scored on different examples; they cannot be compared")
        return list(a_scores), list(b_scores)
    by_id = dict(zip(b.ids, b_scores, strict=True))
    shared = [(score, by_id[i]) for i, score in zip(a.ids, a_scores, strict=True) if i in by_id]
    if not shared:
        raise ValueError(f"{a.name} and {b.name} were scored on different examples; they cannot be compared")
    return [x for x, _ in shared], [y for _, y in shared]


def set_up_cost(arms: Sequence[ArmScore]) -> dict[str, float]:
    """What each arm's set-up cost, on one scale for all of `arms`: the work done (CPU seconds per
    thread) when every one of them measured it, else wall seconds (an arm recorded before work
    was measured has only those)."""
    if all(arm.setup_work is not None for arm in arms):
        return {arm.name: float(arm.setup_work or 0.0) for arm in arms}
    return {arm.name: arm.setup_seconds for arm in arms}


def decide(arms: Sequence[ArmScore], *, classification: bool, advice: str | None = None) -> Verdict:
    """The verdict over the arms that ran (at least one)."""
    if not arms:
        raise ValueError("no arm finished, so there is nothing to compare")
    ranked = sorted(arms, key=lambda arm: (-arm.score, arm.setup_seconds))
    best = ranked[0]
    p_values = {arm.name: 1.0 if arm is best else p_value(arm, best, classification) for arm in ranked}
    tied = [arm for arm in ranked if p_values[arm.name] >= ALPHA]
    cost = set_up_cost(tied)  # only the tied arms' costs decide: one scale for them all
    cheapest = min(cost[arm.name] for arm in tied)
    as_cheap = [arm for arm in tied if cost[arm.name] <= cheapest * SAME_COST or cost[arm.name] == cheapest]
    ship = min(as_cheap, key=lambda arm: (-arm.score, arm.seconds_per_example, cost[arm.name]))
    significant = len(ranked) > 1 and p_values[ranked[1].name] < ALPHA
    verdict = Verdict(
        best=best.name,
        significant=significant,
        ship=ship.name,
        tied_with_best=[arm.name for arm in tied],
        p_values=p_values,
        advice=advice,
    )
    if advice is not None:
        _judge_advice(verdict, {arm.name: arm for arm in arms}, advice, cost)
    return verdict


def _judge_advice(verdict: Verdict, by_name: dict[str, ArmScore], advice: str, cost: dict[str, float]) -> None:
    advised = by_name.get(advice)
    best, ship = by_name[verdict.best], by_name[verdict.ship]
    if advised is None:
        verdict.advice_held, verdict.advice_fate = None, None
        verdict.reason = f"{advice} was not among the arms that ran"
    elif advice == verdict.ship:
        verdict.advice_held, verdict.advice_fate = True, "held"
        verdict.reason = f"{advice} is the cheapest arm tied with the best"
    elif advice in verdict.tied_with_best:
        verdict.advice_held, verdict.advice_fate = False, "tied"
        verdict.cost_ratio = cost[advice] / cost[ship.name] if cost[ship.name] > 0 else None
        if verdict.cost_ratio is None:
            dearer = f"with {human_duration(cost[advice] / 3600)} of set-up where {ship.name} needs none"
        elif verdict.cost_ratio <= SAME_COST:
            dearer = f"at about the set-up of {ship.name} ({verdict.cost_ratio:.2g}x), which scored higher"
        else:
            dearer = f"at {verdict.cost_ratio:.3g}x the set-up of {ship.name}, which reaches the same quality"
        verdict.reason = (
            f"{advice} is tied with the best ({advised.score:.3f} against {best.score:.3f}) {dearer}: ship {ship.name}"
        )
    else:
        verdict.advice_held, verdict.advice_fate = False, "missed"
        verdict.reason = (
            f"{advice} scored {advised.score:.3f}, below {best.name}'s {best.score:.3f} "
            f"(p = {verdict.p_values[advice]:.2g}); ship {ship.name} instead"
        )
