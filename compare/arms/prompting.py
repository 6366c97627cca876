"""`prompting`: the instruct model answers each test example zero-shot (labels scored by likelihood,
or answers generated), with its template and scoring rule chosen on validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.results import RunResult


@register_arm("prompting", tasks={"classification", "generation"}, kind="prompted", order=10)
def run(arm: ArmContext) -> RunResult:
    if arm.served is not None:
        from hosted.served_arms import run_served_answers, run_served_prompting

        if arm.classification:
            return run_served_prompting(arm.split, arm.served, arm.sample, choice_sample=arm.choice_sample)
        return run_served_answers(arm.split, arm.served, arm.sample, max_tokens=arm.answer_budget())
    if arm.classification:
        from rag.prompted import run_prompting

        return run_prompting(arm.split, arm.model(), arm.sample, choice_sample=arm.choice_sample)
    from rag.answering import run_answer_prompting

    return run_answer_prompting(arm.split, arm.model(), arm.sample, max_new_tokens=arm.answer_budget())
