"""`rag`: retrieval over the training examples (FAISS + sentence-transformers): a vote of the k
nearest for labels, k chosen on validation; for answers, the instruct model answers with the
nearest examples in its prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.results import RunResult


@register_arm("rag", tasks={"classification", "generation"}, order=30, prompts={"generation"})
def run(arm: ArmContext) -> RunResult:
    if arm.classification:
        from rag.arms import run_rag

        return run_rag(arm.embeddings())
    if arm.served is not None:
        from hosted.served_arms import run_served_answer_rag

        return run_served_answer_rag(
            arm.split, arm.served, arm.sample, choice_sample=arm.choice_sample, max_tokens=arm.answer_budget()
        )
    from rag.answering import run_answer_rag
    from rag.embed import Embedder

    return run_answer_rag(
        arm.split,
        arm.model(),
        Embedder(),
        arm.sample,
        choice_sample=arm.choice_sample,
        max_new_tokens=arm.answer_budget(),
    )
