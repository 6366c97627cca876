"""`rag+lora`: LoRA trained on conversations that open with what retrieval finds for each
example, and answering with it: retrieval and fine-tuning together. For generated answers, the
nearest training examples; on documents, the passages of the documents that `rag` would show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from compare.arms import ArmOutcome


@register_arm("rag+lora", tasks={"generation", "documents"}, kind="trained", order=80)
def run(arm: ArmContext) -> ArmOutcome:
    return arm.train("lora", with_examples=True)
