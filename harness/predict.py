"""Predictions from a trained model: labels for classification, greedy answers for generation.

Also loads what a run saved (full weights, or an adapter over its base model) for inference,
and merges an adapter into its base model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.data.shapes import conversation
from tunewise.errors import ModelError
from tunewise.inference import chat_prompt, greedy_answers
from tunewise.model_files import (
    check_model_folder,
    check_no_custom_code,
    load_errors,
    read_json,
    read_json_object,
    safetensors_shapes,
    weight_shapes,
)
from tunewise.models import ResolvedModel, resolve_model
from tunewise.trust import trust_remote_code

MODEL_DIR = "model"
RUN_FIX = "the run folder is damaged: restore the file from a copy, or train the run again"


def generate_answers(
    model: Any, tokenizer: Any, shape: Any, records: list[dict[str, Any]], max_new_tokens: int, batch_size: int = 8
) -> list[str]:
    """A trained model's greedy answer to each record's prompt, in batches."""
    was_training = model.training
    model.eval()
    # The prompt is the conversation without its final answer, which is what the model must say.
    prompts = [chat_prompt(tokenizer, conversation(shape, r)[:-1]) for r in records]
    answers: list[str] = []
    for start in range(0, len(prompts), batch_size):
        answers.extend(greedy_answers(model, tokenizer, prompts[start : start + batch_size], max_new_tokens))
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


@dataclass(frozen=True)
class SavedModel:
    """What a run's model folder holds, read and checked from its files before anything loads."""

    folder: Path  # the model or adapter folder (its tokenizer lives here too)
    weights: Path  # the folder the model's weights load from: `folder`, or an adapter's base model
    task: str
    is_adapter: bool
    labels: list[str] | None  # a classification adapter's head, in order (full models keep theirs in config.json)


def load_trained(path: Path, device: str | None = None) -> TrainedModel:
    """A run's model ready for inference: an adapter is loaded onto its base model."""
    saved = inspect_saved(path)  # a broken file fails here, in one line, before seconds of loading

    from tunewise.inference import pick_device

    target = pick_device(device)
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # predictions go to stdout; keep stderr for errors
    # peft calls a transformers property that transformers now calls deprecated; nothing to do here.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    trust = trust_remote_code()
    auto = AutoModelForSequenceClassification if saved.task == "classification" else AutoModelForCausalLM
    kwargs: dict[str, Any] = {"trust_remote_code": trust}
    if saved.labels is not None:
        kwargs |= {
            "num_labels": len(saved.labels),
            "id2label": dict(enumerate(saved.labels)),
            "label2id": {n: i for i, n in enumerate(saved.labels)},
        }
    with load_errors(saved.weights):
        model: Any = auto.from_pretrained(saved.weights, **kwargs)
    if saved.is_adapter:
        from peft import PeftModel

        with load_errors(saved.folder):
            model = PeftModel.from_pretrained(model, str(saved.folder))
    with load_errors(saved.folder):
        tokenizer = AutoTokenizer.from_pretrained(saved.folder, trust_remote_code=trust)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(target).eval()
    return TrainedModel(model, tokenizer, saved.task, saved.is_adapter)


def inspect_saved(path: Path) -> SavedModel:
    """Check a run's model folder (or a model or adapter folder) from its files alone."""
    folder = model_folder(path)
    if (folder / "adapter_config.json").is_file():
        return _inspect_adapter(folder)
    config = check_model_folder(folder)
    architectures = config.get("architectures") or []
    classifies = isinstance(architectures, list) and any("Classification" in str(a) for a in architectures)
    if classifies and (folder / "labels.json").is_file():
        _saved_labels(folder, _config_head_size(config))
    return SavedModel(folder, folder, "classification" if classifies else "generation", False, None)


def _inspect_adapter(folder: Path) -> SavedModel:
    settings_path = folder / "adapter_config.json"
    settings = read_json_object(settings_path, RUN_FIX)
    task = "classification" if settings.get("task_type") == "SEQ_CLS" else "generation"
    base = _adapter_base(settings_path, settings)
    check_model_folder(base.path)
    check_no_custom_code(folder)  # the tokenizer loads from the adapter folder
    shapes = _adapter_shapes(folder)
    labels = None
    if task == "classification":
        # The head's size and label names live in labels.json beside the adapter.
        labels = _saved_labels(folder, _adapter_head_size(shapes, settings))
    if shapes is not None:
        _check_adapter_fits(settings_path, shapes, base)
    return SavedModel(folder, base.path, task, True, labels)


def _adapter_base(settings_path: Path, settings: dict[str, Any]) -> ResolvedModel:
    name = settings.get("base_model_name_or_path")
    if not isinstance(name, str) or not name.strip():
        raise ModelError(
            f"{settings_path}: base_model_name_or_path is missing or empty; set it to the model the adapter was "
            "trained on (a built-in alias, a folder or a hub id)"
        )
    try:
        return resolve_model(name, prepare=True)
    except ModelError as exc:
        raise ModelError(f"{settings_path}: base_model_name_or_path: {exc.message}") from exc


def _adapter_shapes(folder: Path) -> dict[str, list[int]] | None:
    """The adapter's tensor shapes from its safetensors header; None for a pickled adapter (its shapes need torch)."""
    weights = folder / "adapter_model.safetensors"
    if weights.is_file():
        return safetensors_shapes(weights)
    if (folder / "adapter_model.bin").is_file():
        return None
    raise ModelError(f"{folder}: holds adapter_config.json but no adapter_model.safetensors; {RUN_FIX}")


def _config_head_size(config: dict[str, Any]) -> int | None:
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    num_labels = config.get("num_labels")
    return num_labels if isinstance(num_labels, int) else None


def _adapter_head_size(shapes: dict[str, list[int]] | None, settings: dict[str, Any]) -> int | None:
    """Outputs of the classification head saved with the adapter (peft's `modules_to_save`), if it is there."""
    heads = settings.get("modules_to_save") or []
    for name, shape in (shapes or {}).items():
        if "lora_" not in name and any(name.endswith(f".{head}.weight") for head in heads) and shape:
            return shape[0]
    return None


def _saved_labels(folder: Path, head_size: int | None) -> list[str]:
    """labels.json: the label of each output of the head, checked against the head's size."""
    path = folder / "labels.json"
    if not path.is_file():
        raise ModelError(f"{folder}: a classification adapter needs labels.json beside it; was it saved by tunewise?")
    labels = read_json(path, RUN_FIX)
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str | int) for x in labels):
        raise ModelError(
            f"{path}: should hold the list of label names the model predicts, not {labels!r:.60}; {RUN_FIX}"
        )
    names = [str(label) for label in labels]
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: names a label twice; {RUN_FIX}")
    if head_size is not None and len(names) != head_size:
        raise ModelError(
            f"{path}: lists {len(names)} labels, but the model's classification head has {head_size} outputs; {RUN_FIX}"
        )
    return names


def _check_adapter_fits(settings_path: Path, shapes: dict[str, list[int]], base: ResolvedModel) -> None:
    """Every layer the adapter changes must exist in the base model with the same size.

    Checked from both safetensors headers, so an adapter pointed at the wrong base fails before
    either loads (peft would fail later with a page of size mismatches, or find no layer at all).
    """
    base_shapes = weight_shapes(base.path)
    layers = _lora_layers(shapes)
    if base_shapes is None or not layers:
        return
    by_suffix: dict[str, list[int]] = {}
    for name, shape in base_shapes.items():
        if name.endswith(".weight"):
            for suffix in _suffixes(name.removesuffix(".weight")):
                by_suffix.setdefault(suffix, shape)
    fix = "set base_model_name_or_path to the model the adapter was trained on"
    missing = [layer for layer in layers if not any(s in by_suffix for s in _suffixes(layer))]
    if missing:
        how_many = (
            f"none of the {len(layers)}" if len(missing) == len(layers) else f"{len(missing)} of the {len(layers)}"
        )
        raise ModelError(
            f"{settings_path}: the adapter does not fit its base model {base.name}: {how_many} layers it changes "
            f"exist there (e.g. {missing[0]}); {fix}"
        )
    for layer, size in layers.items():
        shape = next(by_suffix[s] for s in _suffixes(layer) if s in by_suffix)
        if sorted(shape[:2]) != sorted(size):
            raise ModelError(
                f"{settings_path}: the adapter does not fit its base model {base.name}: layer {layer} is "
                f"{size[1]}x{size[0]} in the adapter but {shape[0]}x{shape[1] if len(shape) > 1 else 1} in the base; {fix}"
            )


def _lora_layers(shapes: dict[str, list[int]]) -> dict[str, list[int]]:
    """Each layer a LoRA adapter changes, with its (input, output) size: lora_A is r x in, lora_B is out x r."""
    layers: dict[str, list[int]] = {}
    for name, shape in shapes.items():
        for part, axis in ((".lora_A.weight", 1), (".lora_B.weight", 0)):
            if name.endswith(part) and len(shape) == 2:
                layer = name.removesuffix(part).removeprefix("base_model.model.")
                layers.setdefault(layer, [0, 0])[1 - axis] = shape[axis]
    return {layer: size for layer, size in layers.items() if all(size)}


def _suffixes(layer: str) -> list[str]:
    """A layer's name with up to two leading parts dropped: task models nest the backbone (`bert.`, `model.`)."""
    parts = layer.split(".")
    return [".".join(parts[i:]) for i in range(min(3, len(parts)))]


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
    from tunewise.atomic import atomic_folder
    from tunewise.locks import writer_lock
    from tunewise.ownership import MERGED_MODEL, check_target

    # Checked before the model loads: never over the run itself, its base model, or a user's folder.
    saved = inspect_saved(path)
    if not saved.is_adapter:
        raise ModelError(f"{path}: holds full weights, not an adapter; there is nothing to merge")
    out = check_target(out, MERGED_MODEL, flag="--out", inputs=[path, saved.weights])
    with writer_lock(out, "this merged model"):
        trained = load_trained(path, device="cpu")
        merged = trained.model.merge_and_unload()
        with atomic_folder(out, MERGED_MODEL) as tmp:
            merged.save_pretrained(tmp)
            trained.tokenizer.save_pretrained(tmp)
            MERGED_MODEL.mark(tmp, source=str(Path(path).resolve()))
    return out
