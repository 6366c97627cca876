"""A comparison's results, assembled from the arms' records: metrics with intervals, costs,
p-values against the best arm, and the verdict.

The arms themselves run elsewhere (`rag.arms`, `harness.arm`); this module only reads their
`RunResult`s, checks that every one scored the same test examples, and judges them, so the
judgement is the same whichever room an arm came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from advisor.statistics import bootstrap_interval
from advisor.verdict import ArmScore, decide
from tunewise.metrics import classification_metrics
from tunewise.results import RunResult

RESULTS_FORMAT = 1


@dataclass
class ArmOutcome:
    """One arm of a comparison: its result, or why it has none (failed, skipped)."""

    name: str
    status: str  # ok, failed or skipped
    result: RunResult | None = None
    reason: str = ""
    reused_from: int | None = None  # the registry's run whose recorded result this is


def _primary(result: RunResult) -> str:
    return "accuracy" if "accuracy" in result.metrics else "token_f1"


def _accuracy(gold: list[str], predicted: list[str]) -> float:
    return classification_metrics(gold, predicted)["accuracy"]


def _macro_f1(gold: list[str], predicted: list[str]) -> float:
    return classification_metrics(gold, predicted)["macro_f1"]


def summarise(
    outcomes: Sequence[ArmOutcome],
    gold: list[str],
    test_ids: list[str],
    *,
    split: dict[str, Any],
    advice: str | None,
    seed: int = 0,
    sample_ids: list[str] | None = None,
) -> dict[str, Any]:
    """The comparison as `results.json` holds it (documented in docs/compare.md).

    Every arm scored either the whole frozen test set or `sample_ids`, the one seeded sample of it
    that the slow arms share; anything else is refused.
    """
    gold_of = dict(zip(test_ids, gold, strict=True))
    scored: list[ArmScore] = []
    arms: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"name": outcome.name, "status": outcome.status, "reason": outcome.reason}
        result = outcome.result
        if outcome.status == "ok" and result is not None:
            if result.eval_ids != test_ids and result.eval_ids != sample_ids:
                raise ValueError(f"arm {outcome.name} scored other examples than the frozen test set")
            arm_gold = [gold_of[i] for i in result.eval_ids]
            predicted = [str(p) for p in result.predictions]
            entry |= {
                "config": result.config,
                "metrics": result.metrics,
                "ci95": {
                    "accuracy": bootstrap_interval(arm_gold, predicted, _accuracy, seed=seed).to_list(),
                    "macro_f1": bootstrap_interval(arm_gold, predicted, _macro_f1, seed=seed).to_list(),
                },
                "cost": result.costs,
                "eval_hash": result.eval_hash,
                "examples": len(result.eval_ids),
                "predictions": predicted,
                "curves": result.curves,
                "reused_from": outcome.reused_from,
            }
            correct = [1.0 if p == g else 0.0 for p, g in zip(predicted, arm_gold, strict=True)]
            scored.append(
                ArmScore(
                    outcome.name,
                    float(result.metrics[_primary(result)]),
                    correct,
                    float(result.costs.get("setup_seconds", 0.0)),
                    float(result.costs.get("seconds_per_example", 0.0)),
                    result.eval_ids,
                )
            )
        arms.append(entry)
    verdict = decide(scored, classification=True, advice=advice).to_dict() if scored else None
    return {
        "format": RESULTS_FORMAT,
        "split": split,
        "test_labels": gold,
        "arms": arms,
        "pairwise": {"against": verdict["best"], "p_values": verdict["p_values"]} if verdict else None,
        "verdict": verdict,
    }
