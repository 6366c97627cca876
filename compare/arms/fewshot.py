"""`fewshot`: the instruct model sees the nearest training examples before each test example;
how many, and the scoring rule, are chosen on validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.results import RunResult


@register_arm("fewshot", tasks={"classification"}, kind="prompted", order=20)
def run(arm: ArmContext) -> RunResult:
    if arm.served is not None:
        from hosted.served_arms import run_served_fewshot

        return run_served_fewshot(arm.embeddings(), arm.served, arm.sample, choice_sample=arm.choice_sample)
    from rag.prompted import run_fewshot

    return run_fewshot(arm.embeddings(), arm.model(), arm.sample, choice_sample=arm.choice_sample)
