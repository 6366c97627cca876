"""The verdict of a comparison: which arm is best, whether that is significant, which to ship,
and whether the advice given before any arm ran has held.

Every arm was scored on the same test examples (`tunewise.data.protocol`), so arms are compared
pairwise on those examples: exact McNemar for classification (right or wrong per example), a
paired bootstrap otherwise (a score per example). "Ship" is the cheapest arm statistically tied
with the best: quality first, and among arms that cannot be told apart, the one that costs least
to set up and then to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from compare.judge.statistics import mcnemar_exact, paired_bootstrap
from compare.results import Verdict

ALPHA = 0.05  # below this p-value, two arms are told apart


@dataclass
class ArmScore:
    """What the verdict reads of one arm that ran."""

    name: str
    score: float  # the task's primary metric on the test set
    per_example: Sequence[float]  # 1/0 correctness for classification, else each example's score
    setup_seconds: float  # index build or training
    seconds_per_example: float = 0.0  # inference latency
    ids: Sequence[str] = ()  # the test examples `per_example` scores, when arms scored different samples


def p_value(a: ArmScore, b: ArmScore, classification: bool) -> float:
    """Two-sided p-value that arms `a` and `b` differ only by chance on their shared examples.

    An arm scored on a sample of the test set (a slow prompted arm) is paired with the other on
    that sample only, so both sides always answer the same questions.
    """
    first, second = _paired(a, b)
    if classification:
        return mcnemar_exact([bool(x) for x in first], [bool(x) for x in second])
    return paired_bootstrap(first, second)


def _paired(a: ArmScore, b: ArmScore) -> tuple[list[float], list[float]]:
    if not a.ids or not b.ids:  # unlabelled scores pair by position, and only when they line up
        if len(a.per_example) != len(b.per_example):
            raise ValueError(f"{a.name} and {b.name} were scored on different examples; they cannot be compared")
        return list(a.per_example), list(b.per_example)
    b_scores = dict(zip(b.ids, b.per_example, strict=True))
    shared = [(score, b_scores[i]) for i, score in zip(a.ids, a.per_example, strict=True) if i in b_scores]
    if not shared:
        raise ValueError(f"{a.name} and {b.name} were scored on different examples; they cannot be compared")
    return [x for x, _ in shared], [y for _, y in shared]


def decide(arms: Sequence[ArmScore], *, classification: bool, advice: str | None = None) -> Verdict:
    """The verdict over the arms that ran (at least one)."""
    if not arms:
        raise ValueError("no arm finished, so there is nothing to compare")
    ranked = sorted(arms, key=lambda arm: (-arm.score, arm.setup_seconds))
    best = ranked[0]
    p_values = {arm.name: 1.0 if arm is best else p_value(arm, best, classification) for arm in ranked}
    tied = [arm for arm in ranked if p_values[arm.name] >= ALPHA]
    ship = min(tied, key=lambda arm: (arm.setup_seconds, arm.seconds_per_example, -arm.score))
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
        _judge_advice(verdict, {arm.name: arm for arm in arms}, advice)
    return verdict


def _judge_advice(verdict: Verdict, by_name: dict[str, ArmScore], advice: str) -> None:
    advised = by_name.get(advice)
    best, ship = by_name[verdict.best], by_name[verdict.ship]
    if advised is None:
        verdict.advice_held = None
        verdict.reason = f"{advice} was not among the arms that ran"
    elif advice == verdict.ship:
        verdict.advice_held = True
        verdict.reason = f"{advice} is the cheapest arm tied with the best"
    elif advice in verdict.tied_with_best:
        verdict.advice_held = True
        verdict.reason = (
            f"{advice} is tied with the best ({advised.score:.3f} against {best.score:.3f}), "
            f"but {ship.name} reaches the same quality for less"
        )
    else:
        verdict.advice_held = False
        verdict.reason = (
            f"{advice} scored {advised.score:.3f}, below {best.name}'s {best.score:.3f} "
            f"(p = {verdict.p_values[advice]:.2g}); ship {ship.name} instead"
        )
