"""`rag`: retrieval over the training examples (FAISS + sentence-transformers): a vote of the k
nearest for labels, k chosen on validation; for answers, the instruct model answers with the
nearest examples in its prompt; on documents, with the passages that answer the question, citing
them (`rag.documents`: chunking, retriever and prompt chosen on validation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.data.shapes import Dataset
    from tunewise.results import RunResult


@register_arm("rag", tasks={"classification", "generation", "documents"}, order=30, prompts={"generation", "documents"})
def run(arm: ArmContext) -> RunResult:
    if arm.classification:
        from rag.arms import run_rag

        return run_rag(arm.embeddings())
    if arm.documents is not None:
        return _on_documents(arm, arm.documents)
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


def _on_documents(arm: ArmContext, documents: Dataset) -> RunResult:
    from rag.documents import Ask, run_documents_rag
    from rag.embed import Embedder

    def run(ask: Ask, model: str) -> RunResult:
        return run_documents_rag(
            arm.split, documents, ask, Embedder(), arm.sample, model=model, choice_sample=arm.choice_sample,
            later=arm.later,
        )  # fmt: skip

    if arm.served is not None:
        from hosted.served_arms import ServedAsker

        asker = ServedAsker(arm.served, arm.answer_budget())
        result = run(asker, arm.served.lm.name)
        asker.record(result)
        return result
    from tunewise.inference import chat_prompt

    lm, budget = arm.model(), arm.answer_budget()
    return run(lambda messages: lm.generate(chat_prompt(lm.tokenizer, messages), budget), lm.name)
