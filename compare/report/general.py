"""What each trained answer model gained on the task beside what it lost in general: the table
and sentence that `report.md`, the terminal and the app's results screen share."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compare.results import Results

GENERAL_COLUMNS = ("arm", "on the task", "general questions", "base model", "change", "p", "like the base (chrF)")
ALPHA = 0.05


def general_rows(results: Results) -> list[dict[str, str]]:
    """One row per trained arm that answered the general questions."""
    metric = results.primary_metric
    rows = []
    for arm in results.finished:
        kept = arm.general
        if kept is None:
            continue
        rows.append(
            {
                "arm": arm.name,
                "on the task": f"{arm.metric(metric):.3f}",
                "general questions": f"{kept.token_f1:.3f}",
                "base model": f"{kept.base_token_f1:.3f}",
                "change": f"{kept.change:+.3f}",
                "p": f"{kept.p_value:.2g}",
                "like the base (chrF)": f"{kept.chrf_to_base:.2f}",
            }
        )
    return rows


def general_sentence(results: Results) -> str:
    """Which trained arms forgot general knowledge beyond chance, and which kept it ("" if none measured)."""
    kept = [(arm.name, arm.general) for arm in results.finished if arm.general is not None]
    if not kept or results.general is None:
        return ""
    forgot = [
        f"`{name}` ({g.change:+.3f}, p = {g.p_value:.2g})" for name, g in kept if g.change < 0 and g.p_value < ALPHA
    ]
    held = [f"`{name}`" for name, g in kept if not (g.change < 0 and g.p_value < ALPHA)]
    first = kept[0][1]
    said = (
        f"**What training cost in general:** on {first.questions} general questions none of the training touched "
        f"({results.general.source}), the base model `{first.base_model}` scores {first.base_token_f1:.3f} token F1"
    )
    if forgot:
        said += f"; forgot beyond chance: {', '.join(forgot)}"
    if held:
        said += f"; no loss beyond chance: {', '.join(held)}"
    return said + "."


def general_markdown(results: Results) -> list[str]:
    """The section of `report.md` (none where no trained arm answered the general questions)."""
    rows = general_rows(results)
    if not rows:
        return []
    lines = ["## What training cost in general", "", general_sentence(results), ""]
    lines += ["| " + " | ".join(GENERAL_COLUMNS) + " |", "|---|" + "---:|" * (len(GENERAL_COLUMNS) - 1)]
    lines += ["| " + " | ".join([f"`{row['arm']}`", *(row[c] for c in GENERAL_COLUMNS[1:])]) + " |" for row in rows]
    return [*lines, ""]
