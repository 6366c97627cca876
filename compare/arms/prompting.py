"""`prompting`: the instruct model answers each test example zero-shot (labels scored by likelihood,
or answers generated), with its template and scoring rule chosen on validation. On documents it
answers closed book: the question alone, from what the model already knows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.data.shapes import Dataset
    from tunewise.results import RunResult


@register_arm("prompting", tasks={"classification", "generation", "documents"}, kind="prompted", order=10)
def run(arm: ArmContext) -> RunResult:
    if arm.served is not None:
        from hosted.served_arms import run_served_answers, run_served_prompting

        if arm.classification:
            return run_served_prompting(arm.split, arm.served, arm.sample, choice_sample=arm.choice_sample)
        return run_served_answers(
            arm.split, arm.served, arm.sample, max_tokens=arm.answer_budget(), later=_later_questions(arm)
        )
    if arm.classification:
        from rag.prompted import run_prompting

        return run_prompting(arm.split, arm.model(), arm.sample, choice_sample=arm.choice_sample)
    from rag.answering import run_answer_prompting

    return run_answer_prompting(
        arm.split, arm.model(), arm.sample, max_new_tokens=arm.answer_budget(), later=_later_questions(arm)
    )


def _later_questions(arm: ArmContext) -> Dataset | None:
    return arm.later.questions if arm.later is not None else None
