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
    assert verdict.advice_held is True and "cheapest arm tied with the best" in verdict.reason


def test_the_cheapest_arm_tied_with_the_best_is_shipped() -> None:
    # The same 850 examples right: no detectable difference, and rag costs a fraction of full's time.
    arms = [_arm("full", 852, 1000, 600.0), _arm("rag", 850, 1000, 10.0), _arm("lora", 600, 1000, 400.0)]
    verdict = decide(arms, classification=True, advice="full")
    assert verdict.best == "full" and not verdict.significant
    assert verdict.ship == "rag" and set(verdict.tied_with_best) == {"full", "rag"}
    assert verdict.advice_held is True and "rag reaches the same quality for less" in verdict.reason


def test_advice_that_lost_says_why() -> None:
    arms = [_arm("full", 870, 1000, 600.0), _arm("rag", 840, 1000, 13.0, offset=30), _arm("lora", 367, 1000, 300.0)]
    verdict = decide(arms, classification=True, advice="lora")
    assert verdict.advice_held is False
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
