"""`full`, `lora`, `qlora`: the training harness (Trainer + peft) with the advisor's config for this
data and machine, `--set` winning; the best epoch is chosen on validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from compare.arms import ArmOutcome


@register_arm("full", tasks={"classification", "generation"}, kind="trained", order=50)
def full(arm: ArmContext) -> ArmOutcome:
    return arm.train("full")


@register_arm("lora", tasks={"classification", "generation"}, kind="trained", order=60)
def lora(arm: ArmContext) -> ArmOutcome:
    return arm.train("lora")


@register_arm("qlora", tasks={"classification", "generation"}, kind="trained", order=70)
def qlora(arm: ArmContext) -> ArmOutcome:
    return arm.train("qlora")
