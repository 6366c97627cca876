"""The verdict on arms with known outcomes: best, significance, the cheapest tied arm, advice held."""

from __future__ import annotations

import pytest

from compare.judge.verdict import ArmScore, decide


def _arm(name: str, correct: int, total: int, setup: float, *, offset: int = 0) -> ArmScore:
    """An arm right on `correct` of `total` examples, starting its right answers at `offset`."""
    per_example = [0.0] * total
    for i in range(correct):
        per_example[(offset + i) % total] = 1.0
    return ArmScore(name, correct / total, per_example, setup)


def test_a_clear_winner_is_significant_and_shipped() -> None:
    arms = [_arm("full", 900, 1000, 600.0), _arm("rag", 700, 1000, 10.0), _arm("head", 720, 1000, 30.0)]
    verdict = decide(arms, classification=True, advice="full")
    assert (verdict.best, verdict.ship, verdict.significant) == ("full", "full", True)
    assert verdict.tied_with_best == ["full"]
    assert verdict.advice_held is True and verdict.advice_fate == "held"
    assert "cheapest arm tied with the best" in verdict.reason


def test_the_cheapest_arm_tied_with_the_best_is_shipped() -> None:
    # The same 850 examples right: no detectable difference, and rag costs a fraction of full's time.
    arms = [_arm("full", 852, 1000, 600.0), _arm("rag", 850, 1000, 10.0), _arm("lora", 600, 1000, 400.0)]
    verdict = decide(arms, classification=True, advice="full")
    assert verdict.best == "full" and not verdict.significant
    assert verdict.ship == "rag" and set(verdict.tied_with_best) == {"full", "rag"}
    # Tied is not held: the advice would have cost 60 times what ships for the same quality.
    assert verdict.advice_held is False and verdict.advice_fate == "tied" and verdict.cost_ratio == 60.0
    assert "at 60x the set-up of rag" in verdict.reason and "ship rag" in verdict.reason


def test_set_up_is_ranked_by_work_done_when_every_arm_measured_it() -> None:
    # Wall seconds say lora is cheaper (full ran beside another job); the work done says full.
    full = ArmScore("full", 0.94, [1.0] * 94 + [0.0] * 6, 538.0, setup_work=120.0)
    lora = ArmScore("lora", 0.94, [1.0] * 94 + [0.0] * 6, 192.0, setup_work=160.0)
    assert decide([full, lora], classification=True, advice="full").ship == "full"
    # One tied arm without the measure (recorded before it existed): wall seconds for the tied.
    older = ArmScore("lora", 0.94, [1.0] * 94 + [0.0] * 6, 192.0)
    assert decide([full, older], classification=True, advice="full").advice_fate == "tied"
    # An arm far below them, without the measure, changes nothing: only the tied arms are weighed.
    below = ArmScore("rag", 0.50, [1.0] * 50 + [0.0] * 50, 1.0)
    assert decide([full, lora, below], classification=True, advice="full").ship == "full"


def test_advice_that_lost_says_why() -> None:
    arms = [_arm("full", 870, 1000, 600.0), _arm("rag", 840, 1000, 13.0, offset=30), _arm("lora", 367, 1000, 300.0)]
    verdict = decide(arms, classification=True, advice="lora")
    assert verdict.advice_held is False and verdict.advice_fate == "missed"
    assert "lora scored 0.367, below full's 0.870" in verdict.reason
    assert verdict.p_values["lora"] < 1e-6


def test_generation_uses_the_paired_bootstrap() -> None:
    strong = ArmScore("lora", 0.6, [0.6] * 300, 100.0)
    weak = ArmScore("prompting", 0.2, [0.2] * 300, 0.0)
    verdict = decide([weak, strong], classification=False, advice="prompting")
    assert verdict.best == "lora" and verdict.significant and verdict.ship == "lora"
    assert verdict.advice_held is False


def test_arms_on_different_examples_are_refused() -> None:
    with pytest.raises(ValueError, match="scored on different examples"):
        decide([_arm("rag", 5, 10, 1.0), _arm("head", 5, 11, 1.0)], classification=True)


def test_an_arm_scored_on_a_sample_is_paired_with_the_best_on_that_sample_only() -> None:
    from compare.judge.statistics import mcnemar_exact

    ids = [f"test.csv:{line}" for line in range(2, 202)]
    strong = ArmScore("head", 0.9, [1.0 if i % 10 else 0.0 for i in range(200)], 3.0, ids=ids)
    sample = ids[::4]  # 50 of the 200
    prompted_correct = [1.0 if i % 3 else 0.0 for i in range(50)]
    prompted = ArmScore("prompting", 0.66, prompted_correct, 30.0, ids=sample)
    verdict = decide([strong, prompted], classification=True)
    paired_strong = [bool(strong.per_example[ids.index(i)]) for i in sample]
    assert verdict.p_values["prompting"] == mcnemar_exact([bool(x) for x in prompted_correct], paired_strong)
    with pytest.raises(ValueError, match="scored on different examples"):
        decide([strong, ArmScore("fewshot", 0.5, [1.0], 1.0, ids=["other.csv:2"])], classification=True)


def test_a_lead_counts_only_when_it_survives_every_seed() -> None:
    ids = [f"test.csv:{line}" for line in range(2, 202)]

    def run(correct: int, offset: int = 0) -> list[float]:
        return [1.0 if (i - offset) % 200 < correct else 0.0 for i in range(200)]

    full = ArmScore("full", 0.70, run(140), 60.0, ids=ids)
    # lora's first seed is far ahead of full; its second is not: the lead is one run's luck.
    lucky = ArmScore("lora", (184 + 146) / 400, run(184), 40.0, ids=ids, more_seeds=[run(146, offset=50)])
    verdict = decide([full, lucky], classification=True, advice="full")
    assert decide([full, ArmScore("lora", 0.92, run(184), 40.0, ids=ids)], classification=True).significant
    assert verdict.best == "lora" and not verdict.significant and verdict.ship == "lora"
    assert verdict.p_values["full"] > 0.05 and verdict.advice_fate == "tied"
    # Ahead on both seeds: significant across seeds.
    steady = ArmScore("lora", (184 + 180) / 400, run(184), 40.0, ids=ids, more_seeds=[run(180)])
    assert decide([full, steady], classification=True).significant


def test_tied_arms_that_cost_about_the_same_ship_the_higher_score() -> None:
    ids = [f"t.csv:{i}" for i in range(200)]
    full = ArmScore("full", 0.87, [0.0] * 26 + [1.0] * 174, 185.0, ids=ids, setup_work=71.0)
    lora = ArmScore("lora", 0.90, [1.0] * 180 + [0.0] * 20, 150.0, ids=ids, setup_work=70.5)
    verdict = decide([full, lora], classification=True, advice="full")
    assert verdict.ship == "lora" and verdict.advice_fate == "tied"
    assert "at about the set-up of lora (1x), which scored higher" in verdict.reason
    # Dearer beyond the noise of the measure: the cheaper one ships even a little lower.
    cheap = ArmScore("full", 0.87, [0.0] * 26 + [1.0] * 174, 185.0, ids=ids, setup_work=40.0)
    assert decide([cheap, lora], classification=True).ship == "full"
