"""`rag+lora`: LoRA trained on conversations that open with each example's nearest training
examples, and answering with them: retrieval and fine-tuning together, for generated answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from compare.arms import ArmOutcome


@register_arm("rag+lora", tasks={"generation"}, kind="trained", order=80)
def run(arm: ArmContext) -> ArmOutcome:
    return arm.train("lora", with_examples=True)
