"""Hyper-parameters for the user's data size and hardware, and the exact command to run them.

The defaults follow the sources the advisor cites: LoRA on all linear layers (QLoRA paper),
learning rates of 2e-4 for adapters and 2e-5 to 5e-5 for full fine-tuning (the BERT and LoRA
papers' ranges; 1e-4 for encoders under 100M parameters, measured), fewer epochs as data grows but never fewer than `MIN_UPDATES` optimizer steps
(the best epoch is then chosen on validation), and an effective batch of 16: per device, up to 16
examples, the most that fit in memory, and gradient accumulation makes up the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from advisor.answers import Answers
from advisor.architectures import ModelSpec
from advisor.estimate import Estimate, Hardware, TrainingPlan, estimate_training
from tunewise.names import Method

EFFECTIVE_BATCH = 16
MAX_BATCH = 32
# A few hundred examples at batch 16 and 5 epochs are under 200 updates: too few for a new head
# over many labels (LoRA on the 586-example demo stopped at macro-F1 0.35 after 92 updates at an
# effective batch of 32). Small data gets more epochs instead, up to MAX_EPOCHS.
MIN_UPDATES = 300
MAX_EPOCHS = 20
# A new head over many labels learns each from its own examples: MiniLM on BANKING77 (117 a label)
# reached 0.812 after 2 epochs at 1e-4 and 0.921 after 5, its validation accuracy peaking at the
# fourth (docs/benchmarks.md). Each label is seen this many times before training stops.
MIN_SEEN_PER_LABEL = 500


@dataclass(frozen=True)
class Hyperparameters:
    """A training config in Hugging Face's names (`TrainingArguments`, peft's `LoraConfig`)."""

    method: Method
    learning_rate: float
    num_train_epochs: int
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    max_length: int
    gradient_checkpointing: bool
    lora_r: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    target_modules: str | list[str] | None = None

    def to_config(self, base_model: str, task: str, data: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "base_model": base_model,
            "method": self.method,
            "task": task,
            "data": data,
            "max_length": self.max_length,
            "learning_rate": self.learning_rate,
            "num_train_epochs": self.num_train_epochs,
            "per_device_train_batch_size": self.per_device_train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "gradient_checkpointing": self.gradient_checkpointing,
        }
        if self.method != "full":
            config |= {
                "lora_r": self.lora_r,
                "lora_alpha": self.lora_alpha,
                "lora_dropout": self.lora_dropout,
                "target_modules": self.target_modules,
            }
        return config


def epochs_for(n_examples: int, effective_batch: int = EFFECTIVE_BATCH, n_labels: int | None = None) -> int:
    """Small data needs more passes to be learned; large data overfits with many. At least
    `MIN_UPDATES` optimizer steps in all and, for a new classification head, enough passes for
    each label to be seen `MIN_SEEN_PER_LABEL` times; within `MAX_EPOCHS`."""
    epochs = 5 if n_examples < 1_000 else 3 if n_examples < 10_000 else 2
    steps_per_epoch = -(-max(n_examples, 1) // effective_batch)
    epochs = max(epochs, -(-MIN_UPDATES // steps_per_epoch))
    if n_labels:
        per_label = max(n_examples, 1) / n_labels
        epochs = max(epochs, math.ceil(MIN_SEEN_PER_LABEL / per_label))
    return min(epochs, MAX_EPOCHS)


def lora_rank_for(n_examples: int) -> int:
    if n_examples < 1_000:
        return 8
    if n_examples < 10_000:
        return 16
    return 32


def lora_dropout_for(n_examples: int) -> float:
    """More regularisation where a few hundred examples are easy to memorise."""
    return 0.1 if n_examples < 1_000 else 0.05


def max_length_for(answers: Answers, spec: ModelSpec) -> int:
    """The data's 95th-percentile length, rounded up to a multiple of 32, within the model's limit."""
    rounded = -(-answers.seq_len // 32) * 32
    return max(32, min(rounded, spec.max_position))


def base_plan(answers: Answers, spec: ModelSpec, method: Method) -> TrainingPlan:
    n = max(answers.n_examples, 1)
    return TrainingPlan(
        method=method,
        batch_size=EFFECTIVE_BATCH,
        seq_len=max_length_for(answers, spec),
        lora_r=lora_rank_for(n),
        target_modules="all-linear",
        lora_dropout=lora_dropout_for(n),
        num_labels=answers.n_labels if spec.kind == "encoder" else None,
        n_examples=n,
        epochs=epochs_for(n, n_labels=answers.n_labels if spec.kind == "encoder" else None),
        tokens_per_example=answers.mean_tokens,
    )


def fit_plan(plan: TrainingPlan, spec: ModelSpec, hardware: Hardware) -> tuple[TrainingPlan, Estimate]:
    """The largest per-device batch (a power of two up to 32) that fits; else checkpointing, then batch 1."""
    for checkpointing in (False, True):
        for batch in (b for b in (32, 16, 8, 4, 2, 1) if b <= MAX_BATCH):
            trial = replace(plan, batch_size=batch, gradient_checkpointing=checkpointing)
            estimate = estimate_training(spec, trial, hardware)
            if estimate.fits:
                return trial, estimate
    smallest = replace(plan, batch_size=1, gradient_checkpointing=True)
    return smallest, estimate_training(spec, smallest, hardware)


SMALL_ENCODER_PARAMS = 100e6


def _full_learning_rate(spec: ModelSpec) -> float:
    """Full fine-tuning's peak learning rate. A small encoder with a fresh head over many labels
    learns too slowly at BERT's 5e-5: MiniLM-L6 on BANKING77 reached 0.752 after 3 epochs at
    5e-5 and 0.921 after 5 at 1e-4 (docs/benchmarks.md)."""
    if spec.kind == "encoder":
        return 1e-4 if spec.n_params() < SMALL_ENCODER_PARAMS else 5e-5
    return 2e-5 if spec.n_params() < 1e9 else 1e-5


def advised_training_keys(hp: Hyperparameters) -> dict[str, Any]:
    """The keys of an advised config that a comparison's trained arm takes over: how it learns,
    not what it learns from (the arm's data, model and length are the comparison's own)."""
    keys: dict[str, Any] = {
        "learning_rate": hp.learning_rate,
        "num_train_epochs": hp.num_train_epochs,
        "per_device_train_batch_size": hp.per_device_train_batch_size,
        "gradient_accumulation_steps": hp.gradient_accumulation_steps,
        "gradient_checkpointing": hp.gradient_checkpointing,
    }
    if hp.method != "full":
        keys |= {"lora_r": hp.lora_r, "lora_alpha": hp.lora_alpha, "lora_dropout": hp.lora_dropout}
        keys["target_modules"] = hp.target_modules
    return keys


def hyperparameters(answers: Answers, spec: ModelSpec, plan: TrainingPlan) -> Hyperparameters:
    method = plan.method
    # The largest batch that fits may be larger than the effective batch: it is not used, since
    # it would halve the updates.
    per_device = min(plan.batch_size, EFFECTIVE_BATCH)
    accumulation = max(1, EFFECTIVE_BATCH // per_device)
    if method == "full":
        learning_rate = _full_learning_rate(spec)
        return Hyperparameters(
            method, learning_rate, epochs_for(plan.n_examples, n_labels=plan.num_labels), per_device, accumulation, plan.seq_len,
            plan.gradient_checkpointing,
        )  # fmt: skip
    rank = plan.lora_r
    # QLoRA used 2e-4 up to 13B and 1e-4 for 33B and 65B.
    learning_rate = 1e-4 if spec.n_params() > 20e9 else 2e-4
    if spec.kind == "encoder":
        learning_rate = 5e-4  # small encoders with a fresh head learn faster
    return Hyperparameters(
        method,
        learning_rate,
        epochs_for(plan.n_examples, n_labels=plan.num_labels),
        per_device,
        accumulation,
        plan.seq_len,
        plan.gradient_checkpointing,
        lora_r=rank,
        lora_alpha=2 * rank,
        lora_dropout=plan.lora_dropout,
        target_modules="all-linear",
    )
