"""Greedy text generation with a causal LM, through its chat template when it has one."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.errors import ModelError
from advisor.inference import LocalLM


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str


def generate(
    model_name: str,
    prompts: list[str],
    *,
    max_new_tokens: int = 64,
    system: str | None = None,
    device: str | None = None,
) -> list[Generation]:
    """Answer each prompt with greedy decoding (deterministic, so answers are reproducible)."""
    if max_new_tokens < 1:
        raise ModelError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    lm = LocalLM(model_name, device=device)
    results = []
    for prompt in prompts:
        text = lm.generate(lm.chat_prompt(system, prompt), max_new_tokens)
        results.append(Generation(prompt, text))
    return results
