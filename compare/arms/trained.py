"""`full`, `lora`, `qlora`: the training harness (Trainer + peft) with the advisor's config for this
data and machine, `--set` winning; the best epoch is chosen on validation. On documents they
train on the question/answer pairs and answer closed book; `lora+docs` also reads the documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from compare.arms import ArmOutcome


@register_arm("full", tasks={"classification", "generation", "documents"}, kind="trained", order=50)
def full(arm: ArmContext) -> ArmOutcome:
    return arm.train("full")


@register_arm("lora", tasks={"classification", "generation", "documents"}, kind="trained", order=60)
def lora(arm: ArmContext) -> ArmOutcome:
    return arm.train("lora")


@register_arm("qlora", tasks={"classification", "generation", "documents"}, kind="trained", order=70)
def qlora(arm: ArmContext) -> ArmOutcome:
    return arm.train("qlora")


@register_arm("lora+docs", tasks={"documents"}, kind="trained", order=65)
def lora_documents(arm: ArmContext) -> ArmOutcome:
    """LoRA trained on the documents themselves as well as the question/answer pairs: knowledge put
    into the weights (the "unsupervised fine-tuning" of Ovadia et al. 2024), answering closed book."""
    return arm.train("lora", with_documents=True)
