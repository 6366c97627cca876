"""What a comparison on documents adds to its reports: how retrieval did, and the knowledge that
arrived after the arms were built (each arm's score on it and what absorbing it cost).

Read by the Markdown report, the HTML report and the terminal table alike, from `results.json`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunewise.metrics import METRIC_TITLES

if TYPE_CHECKING:
    from compare.results import ArmRecord, Results

RECALL_DEPTHS = ("1", "3", "5")
LATER_COLUMNS = ("arm", "token F1 [95% CI]", "exact match", "on the old questions", "absorbing the new documents")


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def retrieval_rows(results: Results) -> list[dict[str, str]]:
    """Recall@k of each retriever on the test questions (a passage holds the reference answer),
    with the one `rag` chose on validation marked."""
    rag = results.arm("rag")
    if rag is None or not rag.ok or "test_recall" not in rag.config:
        return []
    chosen = rag.config.get("retriever")
    rows = []
    for kind, recalls in rag.config["test_recall"].items():
        row = {"retriever": kind + (" (chosen on validation)" if kind == chosen else "")}
        row |= {f"recall@{k}": f"{recalls.get(k, 0.0):.3f}" for k in RECALL_DEPTHS}
        rows.append(row)
    return rows


def retrieval_sentence(results: Results) -> str:
    rag = results.arm("rag")
    if rag is None or not rag.ok or "retriever" not in rag.config:
        return ""
    config, metrics = rag.config, rag.metrics
    return (
        f"`rag` searched {config.get('passages', 0):,} passages of {config.get('chunk_tokens')} tokens with "
        f"{config['retriever']} retrieval, showed {config.get('passages_shown')} passage(s) and "
        f"{config.get('demonstrations')} answered training question(s) before each question (all chosen on "
        f"validation); {metrics.get('grounded') or 0:.0%} of its answers are grounded in the passages they cite, "
        f"and it said it did not know for {metrics.get('abstained') or 0:.0%}."
    )


def later_rows(results: Results) -> list[dict[str, str]]:
    """Each arm on the questions about knowledge that arrived later, beside its score on the old."""
    rows = []
    for arm in results.finished:
        later = arm.later
        if later is None:
            continue
        low, high = later.ci95.get("token_f1", (0.0, 0.0))
        rows.append(
            {
                "arm": arm.name,
                "token F1 [95% CI]": f"{later.metric('token_f1'):.3f} [{low:.3f}, {high:.3f}]",
                "exact match": f"{later.metric('exact_match'):.3f}",
                "on the old questions": f"{arm.metric('token_f1'):.3f}",
                "absorbing the new documents": _absorbing(arm),
            }
        )
    return rows


def _absorbing(arm: ArmRecord) -> str:
    later = arm.later
    assert later is not None
    if later.absorb_seconds is None:
        return f"cannot ({later.absorbs.split(': ', 1)[-1]})" if later.absorbs else "cannot"
    return f"{_seconds(later.absorb_seconds)}: {later.absorbs}"


def later_sentence(results: Results) -> str:
    """The verdict on the later knowledge alone, in one sentence ("" when there was none)."""
    later = results.later
    if later is None or later.verdict is None:
        return ""
    verdict = later.verdict
    ahead = "significantly ahead" if verdict.significant else "not significantly ahead"
    tied = ", ".join(f"`{name}`" for name in verdict.tied_with_best)
    return (
        f"**On knowledge that arrived later** ({len(later.ids):,} questions on documents no arm was built with): "
        f"best `{verdict.best}` ({ahead}); tied with it: {tied}; of those, `{verdict.ship}` absorbs the new "
        "documents at the least cost."
    )


def markdown_sections(results: Results) -> list[str]:
    """The documents' sections of `report.md` (none for other tasks)."""
    if not results.on_documents:
        return []
    lines: list[str] = []
    rows = retrieval_rows(results)
    if rows:
        names = list(rows[0])
        lines += ["## Retrieval over the documents", "", retrieval_sentence(results), ""]
        lines += ["| " + " | ".join(names) + " |", "|---|" + "---:|" * (len(names) - 1)]
        lines += ["| " + " | ".join(row[n] for n in names) + " |" for row in rows]
        lines.append("")
    later = later_rows(results)
    if later:
        lines += ["## Knowledge that arrived later", "", later_sentence(results), ""]
        lines += ["| " + " | ".join(LATER_COLUMNS) + " |", "|---|" + "---:|" * (len(LATER_COLUMNS) - 2) + "---|"]
        lines += ["| " + " | ".join([f"`{row['arm']}`", *(row[c] for c in LATER_COLUMNS[1:])]) + " |" for row in later]
        lines.append("")
    return lines


def documents_method_sentence(results: Results) -> str:
    if not results.on_documents:
        return ""
    said = (
        f"Documents: `{results.docs}`. `prompting` answers closed book (the question alone); the trained arms "
        "learn from the question/answer pairs and answer closed book, `lora+docs` from the documents as well; "
        f"`rag` and `rag+lora` answer with passages of the documents. {METRIC_TITLES['token_f1']}, exact match "
        "and chrF are against the reference answers."
    )
    if results.new_docs:
        said += (
            f" Later knowledge: `{results.new_docs}`, with questions `{results.new_eval}`, seen by no arm while it "
            "was built: the retrieval arms add it to their index (timed), the trained arms answer as they are "
            "(what training again would cost is estimated from their own training)."
        )
    return said
