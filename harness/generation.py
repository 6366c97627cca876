"""Greedy text generation with a causal LM, through its chat template when it has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.errors import ModelError
from advisor.models import Progress, resolve_model


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str
    new_tokens: int


def generate(
    model_name: str,
    prompts: list[str],
    *,
    max_new_tokens: int = 64,
    system: str | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> list[Generation]:
    """Answer each prompt with greedy decoding (deterministic, so answers are reproducible)."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.device import pick_device

    if max_new_tokens < 1:
        raise ModelError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    resolved = resolve_model(model_name, prepare=True, progress=progress)
    if resolved.kind == "encoder":
        raise ModelError(
            f"model '{model_name}' is an encoder and cannot generate text; "
            "use a causal LM such as smollm2-135m-instruct"
        )
    transformers.utils.logging.disable_progress_bar()
    target = pick_device(device)
    # transformers' return types are unions too wide to be useful here.
    tokenizer: Any = AutoTokenizer.from_pretrained(resolved.path)
    model: Any = AutoModelForCausalLM.from_pretrained(resolved.path)
    model = model.to(target).eval()
    results: list[Generation] = []
    for prompt in prompts:
        if tokenizer.chat_template:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}
            ]
            encoded = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        else:
            encoded = tokenizer(prompt, return_tensors="pt")
        inputs = {k: v.to(target) for k, v in encoded.items()}
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
            )
        new = output[0, inputs["input_ids"].shape[1] :]
        results.append(Generation(prompt, tokenizer.decode(new, skip_special_tokens=True).strip(), int(new.numel())))
    return results
