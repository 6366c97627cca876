"""Load the model a run trains: full weights, LoRA adapters, or LoRA over 4-bit NF4 weights.

Everything that can be checked from `config.json` alone (the model fits the task, the sequence
length fits the model) is checked before any weights load.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import TrainConfig
from harness.targets import resolve_target_modules
from tunewise.errors import ConfigError, ModelError
from tunewise.model_files import check_model_folder, load_errors
from tunewise.models import ResolvedModel, resolve_model
from tunewise.names import DEFAULT_CAUSAL_LM, default_model
from tunewise.trust import trust_remote_code

# The layers between an encoder's blocks and its labels, by the names architectures give them
# (BERT's pooler, DistilBERT's pre_classifier, the classifier or score itself). LoRA trains them
# in full: the classifier is new, and so is a pre_classifier; a pooler is either new or was left
# behind by pre-training (a sentence-embedding encoder such as all-MiniLM-L6-v2 was trained
# through mean pooling, so its pooler's outputs barely vary: std 0.04 against 0.29 for the mean
# of the tokens). Frozen, or adapted at rank 8, such a path left the new head at the majority
# class of the demo (accuracy 0.63, macro-F1 0.19); trained in full, 0.83 and 0.59.
CLASSIFICATION_HEAD_MODULES = ("pooler", "pre_classifier", "classifier", "score")
# Heads that stay in full precision under QLoRA: they are small, trained in full, and
# bitsandbytes cannot quantize a freshly initialised head. transformers matches these against
# the linear layers' own names, so the pooler is named by its dense layer too.
UNQUANTIZED_HEADS = [*CLASSIFICATION_HEAD_MODULES, "pooler.dense", "lm_head"]


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    resolved: ResolvedModel
    trainable_params: int
    total_params: int


def resolve_for_task(config: TrainConfig, task: str) -> ResolvedModel:
    """Resolve `base_model` and check that it can learn `task`, from its files alone."""
    name = config.base_model or default_model(task)
    resolved = resolve_model(name, prepare=True)
    check_model_folder(resolved.path)  # before the run folder exists: a broken model leaves nothing behind
    if task == "generation" and resolved.kind == "encoder":
        raise ModelError(
            f"base_model: '{name}' is an encoder and cannot learn to generate text; use a causal LM such as "
            f"{DEFAULT_CAUSAL_LM}, or task: classification for labelled data"
        )
    return resolved


def position_limit(path: Path) -> int | None:
    """The longest sequence the model's position embeddings allow, from `config.json`."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_max_length(max_length: int, resolved: ResolvedModel) -> None:
    limit = position_limit(resolved.path)
    if limit is not None and max_length > limit:
        raise ConfigError(
            f"max_length: {max_length} is above {resolved.name}'s limit of {limit} positions; set max_length <= {limit}"
        )


def compute_dtype(precision: str, device_type: str) -> Any:
    """The dtype activations are computed in: bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU."""
    import torch

    if precision == "fp32" or (precision == "auto" and device_type != "cuda"):
        return torch.float32
    if precision == "fp16" or (precision == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def autocast_dtype(config: TrainConfig, device_type: str) -> Any:
    """The dtype the Trainer's mixed precision (autocast) computes in, or None for none.

    Weights that train stay in fp32 (master weights), so small updates are not rounded away;
    matrix products run in the 16-bit dtype. QLoRA on a CPU computes in bitsandbytes' own
    dtype and is left outside autocast.
    """
    import torch

    dtype = compute_dtype(config.precision, device_type)
    if dtype == torch.float32 or (config.method == "qlora" and device_type != "cuda"):
        return None
    return dtype


def frozen_base_dtype(config: TrainConfig, device_type: str) -> Any:
    """The dtype LoRA's frozen base loads in: on a GPU with mixed precision, the 16-bit compute
    dtype (half the memory, and no cast of every weight at every step); else None (as saved,
    fp32 for these models). Full fine-tuning keeps fp32 master weights; QLoRA quantizes."""
    dtype = autocast_dtype(config, device_type)
    return dtype if config.method == "lora" and device_type == "cuda" else None


def load_for_training(
    config: TrainConfig, task: str, resolved: ResolvedModel, label2id: dict[str, int] | None, device_type: str
) -> LoadedModel:
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()  # the "newly initialised head" report is expected
    # peft calls a transformers property that transformers now calls deprecated; nothing to do here.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    # transformers 5.0's Trainer counts the tokens it saw with torch.tensor(a tensor), which torch warns about.
    warnings.filterwarnings("ignore", message="To copy construct from a tensor", module="transformers.trainer")
    # ...and, when two checkpoints share a second, says it orders them by number instead (which is right).
    warnings.filterwarnings("ignore", message="mtime may not be reliable", module="transformers.trainer")
    transformers.utils.logging.disable_progress_bar()
    trust = trust_remote_code()
    with load_errors(resolved.path):
        tokenizer = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=trust)
    if tokenizer.pad_token is None:
        # Causal LMs often have no pad token; padded positions are masked, so any id works.
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {"trust_remote_code": trust}
    if config.method == "qlora":
        kwargs |= _quantization_kwargs(config, device_type)
    if config.attention != "sdpa":  # sdpa is transformers' own default, where the model has it
        kwargs["attn_implementation"] = config.attention
    base_dtype = frozen_base_dtype(config, device_type)
    if base_dtype is not None:
        kwargs["dtype"] = base_dtype
    try:
        if task == "classification":
            assert label2id is not None
            with load_errors(resolved.path):
                model = AutoModelForSequenceClassification.from_pretrained(
                    resolved.path,
                    num_labels=len(label2id),
                    label2id=label2id,
                    id2label={i: label for label, i in label2id.items()},
                    **kwargs,
                )
            model.config.pad_token_id = tokenizer.pad_token_id
        else:
            with load_errors(resolved.path):
                model = AutoModelForCausalLM.from_pretrained(resolved.path, **kwargs)
            # A KV cache is useless in training, costs memory, and (because transformers only
            # detects packed rows without one) would let packed examples attend to each other.
            model.config.use_cache = False
    except ValueError as exc:
        if config.attention != "sdpa" and "attn" in str(exc).lower():
            raise ModelError(
                f"attention: '{resolved.name}' cannot use {config.attention} ({str(exc).splitlines()[0]}); "
                "use attention: sdpa"
            ) from exc
        if "Unrecognized configuration class" in str(exc):
            raise ModelError(
                f"base_model: '{resolved.name}' has no {'sequence classification' if task == 'classification' else 'causal LM'} "
                f"head in transformers; pick a model made for {task}"
            ) from exc
        raise
    except (AssertionError, RuntimeError) as exc:
        if config.method == "qlora":
            raise ModelError(
                f"method: qlora could not quantize '{resolved.name}' to 4 bits on {device_type} ({exc}); "
                "use method: lora, which trains the same adapters on full-precision weights"
            ) from exc
        raise
    if config.method != "full":
        model = _add_adapters(model, config, task)
    if base_dtype is not None:
        # What trains (adapters, and a classification head trained in full) keeps fp32 weights.
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    if config.gradient_checkpointing and config.method != "full":
        model.enable_input_require_grads()  # checkpointed blocks need inputs that carry grad
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return LoadedModel(model, tokenizer, resolved, trainable, total)


def portable_base_name(resolved: ResolvedModel) -> str:
    """How a saved adapter should name its base: the alias or hub id (valid on any machine), or the folder."""
    return str(resolved.path) if resolved.source == "local" else resolved.name


def _quantization_kwargs(config: TrainConfig, device_type: str) -> dict[str, Any]:
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(config.precision, device_type),
        llm_int8_skip_modules=UNQUANTIZED_HEADS,
    )
    # Quantized weights cannot be moved after loading, so they load where they will train.
    return {"quantization_config": quantization, "device_map": {"": 0} if device_type == "cuda" else "cpu"}


def _add_adapters(model: Any, config: TrainConfig, task: str) -> Any:
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model, prepare_model_for_kbit_training

    if config.method == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    if config.init_adapter is not None:
        init_adapter = Path(config.init_adapter).expanduser()
        # peft takes no trust_remote_code: an adapter folder holds weights and JSON only, never code.
        with load_errors(init_adapter):
            adapted = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
        for settings in adapted.peft_config.values():
            # The saved alias would send peft to the hub when saving; point it at the loaded folder.
            settings.base_model_name_or_path = model.name_or_path
        return adapted
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS if task == "classification" else TaskType.CAUSAL_LM,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=resolve_target_modules(model, config.target_modules),
        modules_to_save=head_modules(model) if task == "classification" else None,
    )
    return get_peft_model(model, lora)


def head_modules(model: Any) -> list[str]:
    """The classification head's layers this model has (see `CLASSIFICATION_HEAD_MODULES`),
    trained in full and saved with the adapter."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    return [name for name in CLASSIFICATION_HEAD_MODULES if name in names]
