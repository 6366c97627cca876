"""`report.md`: a comparison a person reads at a glance, written from `results.json` alone."""

from __future__ import annotations

from typing import Any

from tunewise.units import human_bytes


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def markdown_report(results: dict[str, Any]) -> str:
    """The verdict first, then one row per arm, then how the split was made."""
    verdict = results.get("verdict")
    lines = ["# Comparison", ""]
    if verdict:
        held = {True: "held", False: "did not hold", None: "could not be checked"}[verdict["advice_held"]]
        lines += [
            f"**Ship `{verdict['ship']}`.** Best: `{verdict['best']}` "
            f"({'significantly ahead of the runner-up' if verdict['significant'] else 'not significantly ahead'}); "
            f"tied with the best: {', '.join(f'`{name}`' for name in verdict['tied_with_best'])}.",
            "",
            f"Advice before any arm ran: `{verdict['advice']}`, which {held}: {verdict['reason']}.",
            "",
        ]
    else:
        lines += ["**No arm finished**, so there is no verdict.", ""]
    lines += [
        "| arm | accuracy [95% CI] | macro-F1 | p vs best | set-up | latency p50 / p95 | on disk | status |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    p_values = (verdict or {}).get("p_values", {})
    for arm in results["arms"]:
        if arm["status"] != "ok":
            lines.append(f"| `{arm['name']}` | | | | | | | {arm['status']}: {arm['reason']} |")
            continue
        metrics, cost = arm["metrics"], arm["cost"]
        low, high = arm["ci95"]["accuracy"]
        lines.append(
            f"| `{arm['name']}` | {metrics['accuracy']:.3f} [{low:.3f}, {high:.3f}] | {metrics['macro_f1']:.3f} "
            f"| {p_values.get(arm['name'], 1.0):.2g} | {_seconds(cost['setup_seconds'])} "
            f"| {cost['latency_p50'] * 1000:.0f} / {cost['latency_p95'] * 1000:.0f} ms "
            f"| {human_bytes(cost['disk_bytes'])} | ok |"
        )
    split = results["split"]
    sizes = split["sizes"]
    lines += [
        "",
        f"Data: `{results.get('data')}`; test: `{results.get('eval') or 'a seeded split of the data'}`. "
        f"{sizes['train']:,} training, {sizes['validation']:,} validation and {sizes['test']:,} test examples "
        f"(validation {split['validation_fraction']:.0%} of train, seed {split['seed']}, test fingerprint "
        f"`{split['test_hash']}`). Every choice was made on validation; each arm scored the test set once. "
        "Intervals: 2,000 seeded bootstrap resamples; p-values: exact McNemar against the best arm.",
        "",
    ]
    return "\n".join(lines)
