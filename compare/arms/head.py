"""`head`: a logistic-regression head on frozen sentence embeddings, its C chosen on validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compare.arms import ArmContext, register_arm

if TYPE_CHECKING:
    from tunewise.results import RunResult


@register_arm("head", tasks={"classification"}, order=40)
def run(arm: ArmContext) -> RunResult:
    from rag.arms import run_head

    return run_head(arm.embeddings())
