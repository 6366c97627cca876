"""Which linear layers LoRA adapts, per architecture.

`all-linear` is peft's own preset: every linear layer of the blocks, never the output head
(QLoRA found that adapting all of them is what matches full fine-tuning). `attention` keeps to
the query, key, value and output projections, named the way this architecture names them. A
list is taken as given, after checking that each name matches a linear layer of the model, so
that a typo fails before training instead of training nothing.
"""

from __future__ import annotations

from typing import Any

from tunewise.errors import ConfigError

# Attention projections by the module names architectures use for them.
ATTENTION_NAMES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # Llama, Mistral, Qwen, Gemma, Phi-3
    ("query", "key", "value", "attention.output.dense"),  # BERT, RoBERTa, MiniLM, ELECTRA
    ("c_attn", "attn.c_proj"),  # GPT-2
    ("query_key_value", "attention.dense"),  # GPT-NeoX, Falcon
    ("q_lin", "k_lin", "v_lin", "out_lin"),  # DistilBERT
)


def linear_module_names(model: Any) -> list[str]:
    """Qualified names of the model's linear layers (4-bit ones included)."""
    import torch

    names = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ in {"Linear4bit", "Linear8bitLt"}:
            names.append(name)
    return names


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def resolve_target_modules(model: Any, targets: list[str] | str) -> list[str] | str:
    """What to pass as peft's `target_modules` for this model; `ConfigError` naming the key otherwise."""
    linear = linear_module_names(model)
    if targets == "all-linear":
        return "all-linear"
    if targets == "attention":
        for names in ATTENTION_NAMES:
            if all(any(_matches(n, t) for n in linear) for t in names):
                return list(names)
        raise ConfigError(
            f"target_modules: no known attention projections in {type(model).__name__}; "
            "use all-linear or list the module names"
        )
    assert isinstance(targets, list)
    missing = [t for t in targets if not any(_matches(n, t) for n in linear)]
    if missing:
        suffixes = sorted({n.rsplit(".", 1)[-1] for n in linear})
        raise ConfigError(
            f"target_modules: {', '.join(missing)} matches no linear layer of {type(model).__name__}; "
            f"its linear layers end in: {', '.join(suffixes[:12])}"
        )
    return targets
