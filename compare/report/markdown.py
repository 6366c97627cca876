"""`report.md`: a comparison a person reads at a glance, written from `results.json` alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.report.documents import documents_method_sentence, markdown_sections
from compare.report.general import general_markdown
from tunewise.metrics import ANSWER_METRICS, CLASSIFICATION_METRICS, METRIC_TITLES
from tunewise.units import human_bytes

if TYPE_CHECKING:
    from compare.results import ArmRecord, Results, Verdict


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


FATE_WORDS = {"held": "held", "tied": "tied with what ships", "missed": "did not hold"}


def advice_fate(verdict: Verdict) -> str:
    """What became of the advice, in words (a file written before fates were told apart has only
    `advice_held`)."""
    if verdict.advice_fate is not None:
        return FATE_WORDS[verdict.advice_fate]
    return {True: "held", False: "did not hold", None: "could not be checked"}[verdict.advice_held]


def verdict_sentences(results: Results) -> tuple[str, str]:
    """The verdict and the fate of the advice, in two sentences (Markdown code spans for names)."""
    verdict = results.verdict
    if verdict is None:
        return "**No arm finished**, so there is no verdict.", ""
    return (
        f"**Ship `{verdict.ship}`.** Best: `{verdict.best}` "
        f"({'significantly ahead of the runner-up' if verdict.significant else 'not significantly ahead'}); "
        f"tied with the best: {', '.join(f'`{name}`' for name in verdict.tied_with_best)}.",
        f"Advice before any arm ran: `{verdict.advice}`, which {advice_fate(verdict)}: {verdict.reason}.",
    )


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 or value == 0 else f"${value:.3g}"


def break_even_sentence(results: Results) -> str:
    """After how many predictions each trained arm pays back its training against a dearer
    prompted arm ("" when no prompted arm costs more per prediction)."""
    parts = []
    for found in results.break_even:
        when = (
            "from the first prediction (its training cost nothing on the declared hardware)"
            if found.predictions == 0
            else f"after {found.predictions:,.0f} predictions"
        )
        parts.append(
            f"`{found.trained}` ({_usd(found.training_usd)} to train) pays for itself against `{found.against}` "
            f"{when}, saving {_usd(found.saved_per_1000)} per 1,000"
        )
    return ("**Break-even:** " + "; ".join(parts) + ".") if parts else ""


def overlap_sentence(results: Results) -> str:
    """A warning when test examples also occur in train, with each arm's score without them ("" if none)."""
    leakage = results.leakage
    if leakage is None or not leakage.overlapping_ids:
        return ""
    metric = results.primary_metric
    cleaned = [arm for arm in results.arms if arm.clean is not None and arm.clean.metric == metric]
    examples = cleaned[0].clean.examples if cleaned and cleaned[0].clean else None
    judged = (
        f"the verdict rests on the {examples:,} others ({METRIC_TITLES.get(metric, metric)}: "
        + ", ".join(f"`{arm.name}` {arm.clean.score:.3f}" for arm in cleaned if arm.clean)
        + ")"
        if examples
        else "no test example is free of them, so the verdict rests on them all"
    )
    return (
        f"**Warning: {len(leakage.overlapping_ids):,} of {leakage.test_examples:,} test examples also occur in "
        f"train** ({leakage.exact:,} exact, {leakage.near:,} near copies): scores on them measure memory, so "
        f"{judged}."
    )


COST_COLUMNS = (
    "test examples",
    "p vs best",
    "set-up",
    "set-up on declared hardware",
    "latency p50 / p95",
    "per 1,000 predictions",
    "on disk",
    "status",
)


def metric_keys(results: Results) -> tuple[str, ...]:
    """The task's metrics, the verdict's first."""
    return CLASSIFICATION_METRICS if results.classification else ANSWER_METRICS


EXPECTED = "expected before running"


PER_SEED = "per training seed"


def columns(results: Results) -> tuple[str, ...]:
    first, *rest = metric_keys(results)
    expected = (EXPECTED,) if results.expected else ()
    seeds = (PER_SEED,) if any(arm.seeds for arm in results.arms) else ()
    metrics = (*(METRIC_TITLES[k] for k in rest),)
    return ("arm", f"{METRIC_TITLES[first]} [95% CI]", *seeds, *expected, *metrics, *COST_COLUMNS)


def seed_cell(arm: ArmRecord) -> str:
    """Each seed's score and their spread: "0.910 / 0.920 / 0.930 (sd 0.010)"."""
    scores = [seed.score for seed in arm.seeds]
    if not scores:
        return ""
    mean = sum(scores) / len(scores)
    spread = (sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) ** 0.5 if len(scores) > 1 else 0.0
    return " / ".join(f"{s:.3f}" for s in scores) + f" (sd {spread:.3f})"


def arm_rows(results: Results) -> list[dict[str, str]]:
    """One row of formatted cells per arm, keyed by `columns(results)`: the same figures in every report."""
    p_values = results.verdict.p_values if results.verdict else {}
    names = columns(results)
    first, *rest = metric_keys(results)
    rows = []
    for arm in results.arms:
        row = dict.fromkeys(names, "")
        row["arm"] = arm.name
        if not arm.ok:
            row["status"] = f"{arm.status}: {arm.reason}"
            rows.append(row)
            continue
        cost = arm.cost
        low, high = arm.ci95[first]
        row[names[1]] = f"{arm.metric(first):.3f} [{low:.3f}, {high:.3f}]"
        if PER_SEED in row:
            row[PER_SEED] = seed_cell(arm)
        expected = results.expected.get(arm.name)
        if expected and EXPECTED in row:
            row[EXPECTED] = f"{expected.mid:.2f} ({expected.low:.2f}-{expected.high:.2f})"
        for key in rest:
            row[METRIC_TITLES[key]] = f"{arm.metric(key):.3f}"
        row |= {
            "test examples": f"{arm.examples or results.split.test_size:,}",
            "p vs best": f"{p_values.get(arm.name, 1.0):.2g}",
            "set-up": _seconds(cost.setup_seconds),
            "set-up on declared hardware": (
                f"{_seconds(cost.projected_setup_seconds)}, ${cost.setup_usd or 0.0:.2f}"
                if cost.projected_setup_seconds is not None
                else ""
            ),
            "latency p50 / p95": f"{cost.latency_p50 * 1000:.0f} / {cost.latency_p95 * 1000:.0f} ms",
            "per 1,000 predictions": _usd(cost.usd_per_1000) if cost.usd_per_1000 is not None else "",
            "on disk": human_bytes(cost.disk_bytes),
            "status": "ok",
        }
        rows.append(row)
    return rows


def method_sentences(results: Results) -> list[str]:
    """How the split was made and the arms judged (Markdown code spans for names)."""
    split = results.split
    sizes = split.sizes
    sentences = [
        f"Data: `{results.data}`; test: `{results.eval or 'a seeded split of the data'}`. "
        f"{sizes['train']:,} training, {sizes['validation']:,} validation and {sizes['test']:,} test examples "
        f"(validation {split.validation_fraction:.0%} of train, seed {split.seed}, test fingerprint "
        f"`{split.test_hash}`). Every choice was made on validation; each arm scored the test set once. "
        "Intervals: 2,000 seeded bootstrap resamples; p-values: "
        + ("exact McNemar" if results.classification else "paired bootstrap of token F1")
        + " against the best arm."
    ]
    if documents_method_sentence(results):
        sentences.append(documents_method_sentence(results))
    seeded = [arm for arm in results.finished if arm.seeds]
    if seeded:
        sentences.append(
            "Trained with several seeds (the new head's weights, dropout and data order; the split stays): "
            + "; ".join(f"`{arm.name}` {arm.seeds_said or f'{len(arm.seeds)} seeds'}" for arm in seeded)
            + ". Their scores are the mean over seeds and their intervals are of one training run, over test "
            "examples and seeds together; a lead is significant only if it is for every pairing of seeds."
        )
    if not results.classification and split.prompt_sample < split.test_size:
        sentences.append(
            f"Generating answers takes seconds an example, so every arm answered the same seeded sample of "
            f"{split.prompt_sample:,} test examples; answers are scored against the reference by token F1 (the "
            "verdict's measure), exact match and chrF."
        )
    elif any((arm.examples or split.test_size) < split.test_size for arm in results.arms):
        sentences.append(
            f"The prompted arms answer one example at a time, so they were scored on a seeded sample of "
            f"{split.prompt_sample:,} test examples (the same sample for each); their intervals are wider, and "
            "each is paired with the best arm on that sample only."
        )
    served = [arm for arm in results.finished if arm.config.get("served")]
    if served:
        calls = "; ".join(
            f"`{arm.name}` {arm.config['calls']['calls']:,} calls ({arm.config['calls']['cached']:,} answered from the "
            f"cache, {arm.config['calls']['retries']:,} retried)"
            + (f", labels constrained by {arm.config['constraint']}" if arm.config.get("constraint") else "")
            for arm in served
        )
        price = served[0].config["price"]
        sentences.append(
            f"Prompted through `{served[0].config['model']}` at ${price['usd_in_per_1m']:g} in and "
            f"${price['usd_out_per_1m']:g} out per 1M tokens ({price['source']}): {calls}."
        )
    probe = results.probe
    if probe:
        from tunewise.probes import probe_lines

        figures = "; ".join(probe_lines(probe.to_dict())[1:])
        sentences.append(
            f"The advice was fixed before any arm ran, on a probe of the {probe.n_examples:,} training and validation "
            f"examples (never the test set): {figures}."
        )
    forecast = [arm for arm in results.finished if arm.cost.extras().get("estimated_setup_seconds")]
    if forecast:
        sentences.append(
            "The estimator against this machine (its forecast of each training, and the training's work "
            "measured): "
            + "; ".join(_forecast_said(arm) for arm in forecast)
            + "; `tunewise runs calibration` shows the ratio over every run here, which the advice uses from "
            "3 runs of a model and method."
        )
    hardware = results.hardware
    if hardware:
        sentences.append(
            f"Measured on {hardware.here}; projected onto the declared hardware, {hardware.declared}, "
            f"at ${hardware.price_per_gpu_hour:g} per GPU-hour."
        )
    return sentences


def _forecast_said(arm: ArmRecord) -> str:
    extras = arm.cost.extras()
    forecast = extras["estimated_setup_seconds"]
    measured = extras.get("setup_work_seconds") or arm.cost.setup_seconds
    return f"`{arm.name}` {_seconds(forecast)} forecast, {_seconds(measured)} measured ({measured / forecast:.2g}x)"


def markdown_report(results: Results) -> str:
    """The verdict first, then one row per arm, then how the split was made."""
    lines = ["# Comparison", ""]
    for sentence in (*verdict_sentences(results), break_even_sentence(results), overlap_sentence(results)):
        if sentence:
            lines += [sentence, ""]
    names = columns(results)
    lines += ["| " + " | ".join(names) + " |", "|---|" + "---:|" * (len(names) - 2) + "---|"]
    for row in arm_rows(results):
        cells = [f"`{row['arm']}`", *(row[column] for column in names[1:])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += markdown_sections(results)
    lines += general_markdown(results)
    for sentence in method_sentences(results):
        lines += [sentence, ""]
    return "\n".join(lines)
