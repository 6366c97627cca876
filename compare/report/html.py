"""`report.html`: the comparison as one self-contained page, written from `results.json` alone.

Everything is inside the file: the style, and the charts as SVG images in `data:` URLs, so it
opens from a mail attachment or an air-gapped machine with no network and no other file. The
charts: each arm's metric with its interval; quality against set-up cost with the front of arms
no other arm beats on both marked; the loss curves of the trained arms; and what the arm to ship
confuses (the whole matrix for a few labels, the most frequent confusions for many).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from compare.report.markdown import (
    arm_rows,
    break_even_sentence,
    columns,
    method_sentences,
    overlap_sentence,
    verdict_sentences,
)
from tunewise.metrics import METRIC_TITLES

if TYPE_CHECKING:
    from compare.results import ArmRecord, Results, Verdict

FULL_MATRIX_LABELS = 12  # up to this many labels the whole confusion matrix is drawn; beyond, the top confusions
TOP_CONFUSIONS = 15
SHIP_COLOUR, BEST_COLOUR, OTHER_COLOUR = "#2f7d32", "#1f5fa8", "#8a8f98"

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #1c1f24; }
h1 { font-size: 1.6rem; margin-bottom: 0.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { border-bottom: 1px solid #dde1e6; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td:last-child, th:last-child { text-align: left; }
tr.ship td { background: #eaf5ea; font-weight: 600; }
code { background: #f1f3f5; padding: 0 3px; border-radius: 3px; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
.verdict { font-size: 1.1rem; } .warning { color: #9a3412; } .muted { color: #5b6270; font-size: 13px; }
"""


def html_report(results: Results) -> str:
    """The whole page: verdict, table, charts, how the split was made."""
    verdict = results.verdict
    ship = verdict.ship if verdict else None
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Comparison: ship {html.escape(str(ship))}</title>" if ship else "<title>Comparison</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Comparison</h1>",
    ]
    sentences = (*verdict_sentences(results), break_even_sentence(results))
    parts += [f'<p class="verdict">{_inline(sentence)}</p>' for sentence in sentences if sentence]
    if overlap_sentence(results):
        parts.append(f'<p class="verdict warning">{_inline(overlap_sentence(results))}</p>')
    parts.append(_table(results, ship))
    ok = results.finished
    metric = results.primary_metric
    title = METRIC_TITLES[metric]
    if ok:
        parts += [
            "<h2>Quality</h2>",
            _figure(_interval_chart(ok, verdict, metric), f"{title} of each arm with its 95% interval"),
            "<h2>Quality against set-up cost</h2>",
            _figure(
                _cost_chart(ok, ship, metric), f"{title} against set-up time; the line joins the arms nothing beats"
            ),
        ]
    trained = [arm for arm in ok if arm.curves.get("train_loss") or arm.curves.get("eval_loss")]
    if trained:
        parts += ["<h2>Loss of the trained arms</h2>", _figure(_loss_chart(trained), "training and validation loss")]
    shipped = next((arm for arm in ok if arm.name == ship), None)
    if shipped is not None and shipped.predictions and results.classification:
        parts += [f"<h2>What <code>{html.escape(ship or '')}</code> confuses</h2>", _confusions(results, shipped)]
    parts += [
        "<h2>How this was measured</h2>",
        *(f'<p class="muted">{_inline(s)}</p>' for s in method_sentences(results)),
    ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _inline(markdown: str) -> str:
    """The two Markdown marks the shared sentences use (`code`, **bold**), as HTML."""
    text = html.escape(markdown, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _table(results: Results, ship: str | None) -> str:
    names = columns(results)
    head = "".join(f"<th>{html.escape(column)}</th>" for column in names)
    rows = []
    for row in arm_rows(results):
        cells = "".join(f"<td>{html.escape(row[column])}</td>" for column in names)
        rows.append(f'<tr class="ship">{cells}</tr>' if row["arm"] == ship else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = html.escape(caption)
    return f'<figure><img alt="{alt}" src="data:image/svg+xml;base64,{encoded}"><figcaption class="muted">{alt}</figcaption></figure>'


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    return buffer.getvalue()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"  # text as shapes: the same look whatever fonts the reader has
    return plt


def _colour(name: str, verdict: Verdict | None) -> str:
    if verdict is not None and name == verdict.ship:
        return SHIP_COLOUR
    return BEST_COLOUR if verdict is not None and name == verdict.best else OTHER_COLOUR


def _interval_chart(arms: list[ArmRecord], verdict: Verdict | None, metric: str) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.5 * len(arms) + 1.2), dpi=100)
    for row, arm in enumerate(reversed(arms)):
        value = arm.metric(metric)
        low, high = arm.ci95[metric]
        colour = _colour(arm.name, verdict)
        axes.errorbar(value, row, xerr=[[value - low], [high - value]], fmt="o", color=colour, capsize=4)
        axes.annotate(f"{value:.3f}", (high, row), xytext=(6, -4), textcoords="offset points", fontsize=9)
        # Each training seed's own score, as small marks just under the mean: the spread a retrain shows.
        runs = [float(seed.metrics.get(metric) or 0.0) for seed in arm.seeds]
        if runs:
            axes.plot(runs, [row - 0.18] * len(runs), "|", color=colour, markersize=9, markeredgewidth=1.5)
    axes.set_yticks(range(len(arms)), [arm.name for arm in reversed(arms)])
    seeded = " | each training seed's score" if any(arm.seeds for arm in arms) else ""
    axes.set_xlabel(f"{METRIC_TITLES[metric]} on the test set (95% bootstrap interval){seeded}")
    axes.set_xlim(0, 1.05)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def cheapest_best_front(arms: list[ArmRecord], metric: str = "accuracy") -> list[str]:
    """The arms no other arm beats on both quality and set-up time, cheapest first."""
    ordered = sorted(arms, key=lambda arm: (arm.cost.setup_seconds, -arm.metric(metric)))
    front, best = [], -1.0
    for arm in ordered:
        if arm.metric(metric) > best:
            front.append(arm.name)
            best = arm.metric(metric)
    return front


def _cost_chart(arms: list[ArmRecord], ship: str | None, metric: str) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    by_name = {arm.name: arm for arm in arms}
    front = cheapest_best_front(arms, metric)
    xs = [max(by_name[name].cost.setup_seconds, 0.01) for name in front]
    ys = [by_name[name].metric(metric) for name in front]
    axes.step(xs, ys, where="post", color=BEST_COLOUR, alpha=0.5, label="cheapest-best front")
    for arm in arms:
        x, y = max(arm.cost.setup_seconds, 0.01), arm.metric(metric)
        shipped = arm.name == ship
        axes.scatter(
            [x],
            [y],
            s=120 if shipped else 50,
            color=SHIP_COLOUR if shipped else OTHER_COLOUR,
            zorder=3,
            marker="*" if shipped else "o",
        )
        axes.annotate(
            arm.name + (" (ship)" if shipped else ""), (x, y), xytext=(6, 4), textcoords="offset points", fontsize=9
        )
    axes.set_xscale("log")
    axes.set_xlabel("set-up time, seconds (log scale)")
    axes.set_ylabel(METRIC_TITLES[metric])
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return _svg(figure)


def _loss_chart(arms: list[ArmRecord]) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    for index, arm in enumerate(arms):
        colour = f"C{index}"
        train, evaluation = arm.curves.get("train_loss", []), arm.curves.get("eval_loss", [])
        if train:
            axes.plot(*zip(*train, strict=True), color=colour, linewidth=1.2, label=f"{arm.name} train")
        if evaluation:
            axes.plot(
                *zip(*evaluation, strict=True),
                color=colour,
                linestyle="--",
                marker="o",
                label=f"{arm.name} validation",
            )
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend()
    return _svg(figure)


def _confusions(results: Results, arm: ArmRecord) -> str:
    gold_of = dict(zip(results.split.test_ids, results.test_labels, strict=True))
    pairs = [(gold_of[i], p) for i, p in zip(_arm_ids(results, arm), arm.predictions, strict=True)]
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    if len(labels) <= FULL_MATRIX_LABELS:
        return _figure(_matrix_chart(pairs, labels), "confusion matrix on the test set: rows true, columns predicted")
    wrong = Counter((g, p) for g, p in pairs if g != p).most_common(TOP_CONFUSIONS)
    if not wrong:
        return "<p>No test example was misclassified.</p>"
    rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{html.escape(p)}</td><td>{n}</td></tr>" for (g, p), n in wrong)
    return (
        f'<p class="muted">{len(labels)} labels: the {len(wrong)} most frequent confusions on the test set.</p>'
        f"<table><thead><tr><th>true label</th><th>predicted</th><th>examples</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _arm_ids(results: Results, arm: ArmRecord) -> list[str]:
    """The test ids an arm scored: all of them, or the prompted arms' sample."""
    ids = results.split.test_ids
    if len(arm.predictions) == len(ids):
        return ids
    return results.split.sample_ids or []


def _matrix_chart(pairs: list[tuple[str, str]], labels: list[str]) -> str:
    plt = _pyplot()
    position = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for gold, predicted in pairs:
        counts[position[gold]][position[predicted]] += 1
    size = max(4.0, 0.5 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size), dpi=100)
    axes.imshow(counts, cmap="Greens")
    peak = max(max(row) for row in counts) or 1
    for r, row in enumerate(counts):
        for c, n in enumerate(row):
            if n:
                axes.text(
                    c, r, str(n), ha="center", va="center", fontsize=8, color="white" if n > peak / 2 else "black"
                )
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    return _svg(figure)
