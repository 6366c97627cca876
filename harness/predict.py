"""Predictions from a trained model: labels for classification, greedy answers for generation.

Also loads what a run saved (full weights, or an adapter over its base model) for inference,
and merges an adapter into its base model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import ModelError
from advisor.models import resolve_model
from harness.tokenize import conversation

MODEL_DIR = "model"


def answer_batch(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> list[str]:
    """Greedy answers for already-formatted prompts, left-padded into one batch."""
    import torch

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right edge of every row
    try:
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    device = next(model.parameters()).device
    with torch.inference_mode():
        output = model.generate(
            **encoded.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    width = encoded["input_ids"].shape[1]
    return [str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip() for row in output]


def prompt_of(messages: list[dict[str, str]], tokenizer: Any) -> str:
    """The prompt a conversation's final answer follows, in the model's chat format."""
    if tokenizer.chat_template:
        return str(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False))
    return "\n".join(m["content"] for m in messages[:-1]) + "\n"


def generate_answers(
    model: Any, tokenizer: Any, shape: Any, records: list[dict[str, Any]], max_new_tokens: int, batch_size: int = 8
) -> list[str]:
    was_training = model.training
    model.eval()
    prompts = [prompt_of(conversation(shape, r), tokenizer) for r in records]
    answers: list[str] = []
    for start in range(0, len(prompts), batch_size):
        answers.extend(answer_batch(model, tokenizer, prompts[start : start + batch_size], max_new_tokens))
    model.train(was_training)
    return answers


# ---------------------------------------------------------------------------- saved runs


@dataclass
class TrainedModel:
    model: Any
    tokenizer: Any
    task: str
    is_adapter: bool


def model_folder(path: Path) -> Path:
    """A run folder's `model/`, or the path itself when it is already a model or adapter folder."""
    for candidate in (path / MODEL_DIR, path):
        if (candidate / "adapter_config.json").is_file() or (candidate / "config.json").is_file():
            return candidate
    raise ModelError(f"{path}: neither a run folder nor a model or adapter folder (no config.json inside)")


def load_trained(path: Path, device: str | None = None) -> TrainedModel:
    """A run's model ready for inference: an adapter is loaded onto its base model."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from advisor.inference import pick_device

    transformers.utils.logging.set_verbosity_error()
    folder = model_folder(path)
    adapter = (folder / "adapter_config.json").is_file()
    if adapter:
        settings = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        task = "classification" if settings.get("task_type") == "SEQ_CLS" else "generation"
        base_name = str(settings.get("base_model_name_or_path") or "")
        base = resolve_model(base_name, prepare=True).path
    else:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        task = (
            "classification" if any("Classification" in a for a in config.get("architectures") or []) else "generation"
        )
        base = folder
    auto = AutoModelForSequenceClassification if task == "classification" else AutoModelForCausalLM
    kwargs: dict[str, Any] = {}
    if adapter and task == "classification":
        # The head's size and label names live in the adapter's saved head config.
        labels = _saved_labels(folder)
        kwargs = {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {n: i for i, n in enumerate(labels)},
        }
    model: Any = auto.from_pretrained(base, **kwargs)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(folder))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(pick_device(device)).eval()
    return TrainedModel(model, tokenizer, task, adapter)


def _saved_labels(folder: Path) -> list[str]:
    path = folder / "labels.json"
    if not path.is_file():
        raise ModelError(f"{folder}: a classification adapter needs labels.json beside it; was it saved by tunewise?")
    labels = json.loads(path.read_text(encoding="utf-8"))
    return [str(label) for label in labels]


def classify(trained: TrainedModel, texts: list[str], batch_size: int = 32) -> list[str]:
    import torch

    if trained.task != "classification":
        raise ModelError("this model generates text; use `tunewise generate --model RUN` instead")
    id2label = trained.model.config.id2label
    device = next(trained.model.parameters()).device
    labels: list[str] = []
    for start in range(0, len(texts), batch_size):
        batch = trained.tokenizer(texts[start : start + batch_size], padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            logits = trained.model(**batch.to(device)).logits
        labels.extend(str(id2label[int(i)]) for i in logits.argmax(-1))
    return labels


def merge_adapter(path: Path, out: Path) -> Path:
    """Fold a LoRA adapter into its base model and save a plain model folder at `out`, atomically.

    The base always loads in full precision here, so a QLoRA adapter merges into exact weights
    rather than into 4-bit ones.
    """
    from advisor.atomic import atomic_folder

    trained = load_trained(path, device="cpu")
    if not trained.is_adapter:
        raise ModelError(f"{path}: holds full weights, not an adapter; there is nothing to merge")
    merged = trained.model.merge_and_unload()
    with atomic_folder(out) as tmp:
        merged.save_pretrained(tmp)
        trained.tokenizer.save_pretrained(tmp)
    return out
