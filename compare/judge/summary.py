"""A comparison's results, assembled from the arms' records: metrics with intervals, costs,
p-values against the best arm, and the verdict.

The arms themselves run elsewhere (`rag.arms`, `harness.arm`); this module only reads their
`RunResult`s, checks that every one scored the same test examples, and judges them, so the
judgement is the same whichever room an arm came from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from compare.arms import ArmOutcome, Task, get_arm
from compare.judge.statistics import bootstrap_interval, classification_intervals
from compare.judge.verdict import ArmScore, decide
from compare.results import ArmRecord, BreakEven, GeneralSet, LaterKnowledge, Pairwise, Results, Split
from tunewise.data.shapes import Dataset, target_text
from tunewise.metrics import ANSWER_METRICS, CLASSIFICATION_METRICS
from tunewise.results import RunResult


def primary_metric(classification: bool) -> str:
    return CLASSIFICATION_METRICS[0] if classification else ANSWER_METRICS[0]


def _mean(scores: list[float], _: list[float]) -> float:
    return sum(scores) / len(scores)


def _intervals(
    gold: list[str], predicted: list[str], classification: bool, seed: int, more_runs: Sequence[list[str]] = ()
) -> dict[str, list[float]]:
    """95% intervals of the task's metrics; for answers, of the mean of each example's score
    (computed once per example, then resampled). With `more_runs` (further training seeds), of
    one run's score, over examples and seeds together."""
    if classification:
        found = classification_intervals(gold, predicted, seed=seed, more_runs=more_runs)
        return {name: i.to_list() for name, i in found.items()}
    scores = per_example_scores(gold, predicted)
    others = [per_example_scores(gold, run) for run in more_runs]
    return {
        name: bootstrap_interval(values, values, _mean, seed=seed, more_runs=[o[name] for o in others]).to_list()
        for name, values in scores.items()
    }


def _mean_metrics(runs: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Each metric's mean over the runs (None where a run could not measure it)."""
    means: dict[str, float | None] = {}
    for name in runs[0]:
        values = [run.get(name) for run in runs]
        means[name] = None if any(v is None for v in values) else sum(float(v or 0.0) for v in values) / len(runs)
    return means


def per_example_scores(gold: list[str], predicted: list[str]) -> dict[str, list[float]]:
    """Each answer's token F1, exact match and chrF against its reference."""
    from tunewise.metrics import chrf, exact_match, token_f1

    pairs = list(zip(predicted, gold, strict=True))
    return {
        "token_f1": [token_f1(p, [g]) for p, g in pairs],
        "exact_match": [exact_match(p, [g]) for p, g in pairs],
        "chrf": [chrf(p, [g]) for p, g in pairs],
    }


def break_even(arms: Sequence[ArmRecord]) -> list[BreakEven]:
    """For each trained arm and each prompted arm whose predictions cost more: how many
    predictions pay back the training. None where prompting is as cheap (nothing to pay back)."""
    priced = [arm for arm in arms if arm.ok and arm.cost.usd_per_1000 is not None]
    found = []
    for trained in (arm for arm in priced if _kind(arm.name) == "trained"):
        for prompted in (arm for arm in priced if _kind(arm.name) == "prompted"):
            saved = (prompted.cost.usd_per_1000 or 0.0) - (trained.cost.usd_per_1000 or 0.0)
            if saved <= 0:
                continue
            training = trained.cost.setup_usd or 0.0
            found.append(BreakEven(trained=trained.name, against=prompted.name, training_usd=training,
                                   saved_per_1000=saved, predictions=1000 * training / saved))  # fmt: skip
    return found


def _kind(name: str) -> str | None:
    try:
        return get_arm(name).kind
    except KeyError:  # an arm registered when the file was written and not now
        return None


def summarise(
    outcomes: Sequence[ArmOutcome],
    gold: list[str],
    test_ids: list[str],
    *,
    split: dict[str, Any],
    advice: str | None,
    seed: int = 0,
    sample_ids: list[str] | None = None,
    task: Task = "classification",
    overlapping: Collection[str] = (),
    later: Dataset | None = None,
    general: GeneralSet | None = None,
) -> Results:
    """The comparison as `results.json` holds it (documented in docs/compare.md).

    Every arm scored either the whole frozen test set or `sample_ids`, the one seeded sample of it
    that the slow arms share; anything else is refused. `gold` is the label of each test example
    (classification) or its reference answer (generation). `overlapping` are the test ids that
    also occur in train: they are scored apart (each arm's `clean` score leaves them out) and the
    verdict rests on the other examples, since an arm that remembers train would win on them.
    `later`: the questions on knowledge that arrived after the arms were built; the arms that
    answered them are judged on them apart (`Results.later`). `general`: the general questions
    and their base models' answers, against which each trained answer model's own are judged
    (`ArmRecord.general`: what training cost it in general).
    """
    classification = task == "classification"
    overlapping = set(overlapping)
    later_gold_of = _references(later) if later is not None else {}
    gold_of = dict(zip(test_ids, gold, strict=True))
    scored: list[ArmScore] = []
    arms: list[ArmRecord] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"name": outcome.name, "status": outcome.status, "reason": outcome.reason}
        result = outcome.result
        if outcome.status == "ok" and result is not None:
            if result.eval_ids != test_ids and result.eval_ids != sample_ids:
                raise ValueError(f"arm {outcome.name} scored other examples than the frozen test set")
            runs = [result, *outcome.more_seeds]
            if any(run.eval_ids != result.eval_ids for run in runs):
                raise ValueError(f"arm {outcome.name}: its seeds scored different examples")
            arm_gold = [gold_of[i] for i in result.eval_ids]
            predicted = [str(p) for p in result.predictions]
            more_runs = [[str(p) for p in run.predictions] for run in outcome.more_seeds]
            entry |= {
                "config": result.config,
                "metrics": _mean_metrics([run.metrics for run in runs]) if more_runs else result.metrics,
                "ci95": _intervals(arm_gold, predicted, classification, seed, more_runs),
                "cost": result.costs,
                "eval_hash": result.eval_hash,
                "examples": len(result.eval_ids),
                "predictions": predicted,
                "curves": result.curves,
                "reused_from": outcome.reused_from,
            }
            if result.later and later is not None:
                later_gold = [later_gold_of[i] for i in result.later["eval_ids"]]
                intervals = _intervals(later_gold, result.later["predictions"], classification, seed)
                entry["later"] = result.later | {"ci95": intervals}
            ids = list(result.eval_ids)
            kept = [position for position, i in enumerate(ids) if i not in overlapping]
            if overlapping and kept:
                ids = [ids[position] for position in kept]
            run_scores = []
            for run_predictions in (predicted, *more_runs):
                if classification:
                    values = [1.0 if p == g else 0.0 for p, g in zip(run_predictions, arm_gold, strict=True)]
                else:
                    values = per_example_scores(arm_gold, run_predictions)["token_f1"]
                run_scores.append([values[position] for position in kept] if overlapping and kept else values)
            if overlapping and kept:
                score = sum(sum(values) / len(values) for values in run_scores) / len(run_scores)
                entry["clean"] = {"examples": len(ids), "metric": primary_metric(classification), "score": score}
            else:
                score = sum(float(run.metrics[primary_metric(classification)] or 0.0) for run in runs) / len(runs)
            if more_runs:
                entry |= {"seeds": _seed_runs(outcome, runs, run_scores), "seeds_said": outcome.seeds_said}
            if result.general and general is not None:
                entry["general"] = _general_kept(result, general)
            work = [run.costs.get("setup_work_seconds") for run in runs]
            scored.append(
                ArmScore(
                    outcome.name,
                    score,
                    run_scores[0],
                    sum(float(run.costs.get("setup_seconds", 0.0)) for run in runs) / len(runs),
                    float(result.costs.get("seconds_per_example", 0.0)),
                    ids,
                    more_seeds=run_scores[1:],
                    setup_work=None if None in work else sum(float(w or 0.0) for w in work) / len(work),
                )
            )
        arms.append(ArmRecord.model_validate(entry))
    verdict = decide(scored, classification=classification, advice=advice) if scored else None
    return Results(
        break_even=break_even(arms),
        task=task,
        later=_later_summary(arms, later, classification) if later is not None else None,
        general=general,
        primary_metric=primary_metric(classification),
        split=Split.model_validate(split),
        test_labels=gold,
        arms=arms,
        pairwise=Pairwise(against=verdict.best, p_values=verdict.p_values) if verdict else None,
        verdict=verdict,
    )


def _general_kept(result: RunResult, general: GeneralSet) -> dict[str, Any] | None:
    """What a trained answer model kept of general knowledge, against the model it started from."""
    from compare.judge.statistics import paired_bootstrap
    from tunewise.metrics import chrf
    from tunewise.names import default_model

    model = str(result.config.get("base_model") or default_model("generation"))
    base = general.base.get(model)
    if base is None or result.general.get("eval_ids") != general.ids:
        return None  # answered other questions (an older record): nothing to set it against
    predicted = [str(p) for p in result.general["predictions"]]
    own = per_example_scores(general.references, predicted)["token_f1"]
    before = per_example_scores(general.references, base)["token_f1"]
    score, base_score = sum(own) / len(own), sum(before) / len(before)
    return {
        "base_model": model,
        "questions": len(own),
        "token_f1": score,
        "base_token_f1": base_score,
        "change": score - base_score,
        "p_value": paired_bootstrap(own, before),
        "chrf_to_base": sum(chrf(p, [b]) for p, b in zip(predicted, base, strict=True)) / len(predicted),
        "predictions": predicted,
    }


def _seed_runs(outcome: ArmOutcome, runs: Sequence[RunResult], scores: Sequence[list[float]]) -> list[dict[str, Any]]:
    """Each training run of an arm trained with several seeds, as results.json records it."""
    reused = [outcome.reused_from, *outcome.more_reused]
    return [
        {
            "seed": int(run.config.get("seed", 0)),
            "score": sum(values) / len(values) if values else 0.0,
            "metrics": run.metrics,
            "setup_seconds": float(run.costs.get("setup_seconds", 0.0)),
            "setup_work_seconds": run.costs.get("setup_work_seconds"),
            "reused_from": reused[position],
            "predictions": [str(p) for p in run.predictions] if position else [],
        }
        for position, (run, values) in enumerate(zip(runs, scores, strict=True))
    ]


def _references(questions: Dataset) -> dict[str, str]:
    from tunewise.data.protocol import ids_of

    return dict(zip(ids_of(questions), (target_text(questions.shape, r) for r in questions.records), strict=True))


def _later_summary(arms: list[ArmRecord], questions: Dataset, classification: bool) -> LaterKnowledge:
    """The arms judged on the knowledge that arrived later as on the test set (p-values against
    the best, and the one to ship were only the new knowledge asked about), where the cost that
    breaks a tie is what absorbing the new documents takes: an arm that cannot absorb them never
    ships on a tie."""
    references = _references(questions)
    scored = []
    for arm in arms:
        if arm.later is None:
            continue
        gold = [references[i] for i in arm.later.eval_ids]
        per_example = per_example_scores(gold, arm.later.predictions)["token_f1"]
        absorb = arm.later.absorb_seconds
        scored.append(ArmScore(arm.name, arm.later.metric(primary_metric(False)), per_example,
                               absorb if absorb is not None else float("inf"), arm.cost.seconds_per_example,
                               list(arm.later.eval_ids)))  # fmt: skip
    verdict = decide(scored, classification=classification) if scored else None
    return LaterKnowledge(ids=list(references), references=list(references.values()), verdict=verdict)
