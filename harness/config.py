"""The training config: Hugging Face's names, validated before anything heavy loads.

Keys are those of `transformers.TrainingArguments` and `peft.LoraConfig` where they exist
(`learning_rate`, `num_train_epochs`, `per_device_train_batch_size`, `lora_alpha`,
`target_modules`...), plus tunewise's own (`base_model`, `method`, `task`, `data`,
`eval_data`, `max_length`). Common aliases from other tools are accepted and the resolved
config records which spelling was used. Unknown keys and impossible combinations are errors
that name the key.
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from tunewise.defaults import DEFAULT_LORA_DROPOUT, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_EXAMPLES, MAX_LORA_R, MAX_TOKENS
from tunewise.errors import ConfigError, shorten
from tunewise.names import METHODS, TRAIN_TASKS, Method, TrainTask
from tunewise.values import check_range, coerce_value
from tunewise.yaml_files import read_yaml_mapping

# The choices a key admits, as types: a config holds one of these or is not built.
Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Tracker = Literal["tensorboard", "mlflow", "wandb"]
Attention = Literal["sdpa", "eager", "flash_attention_2"]
SCHEDULERS: tuple[Scheduler, ...] = get_args(Scheduler)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
ATTENTIONS: tuple[Attention, ...] = get_args(Attention)
REPORT_TO: tuple[Tracker, ...] = get_args(Tracker)

# Other tools' names for our keys (Axolotl, LLaMA-Factory, peft, sentence-transformers).
ALIASES = {
    "r": "lora_r",
    "cutoff_len": "max_length",
    "sequence_len": "max_length",
    "max_seq_length": "max_length",
    "epochs": "num_train_epochs",
    "lr": "learning_rate",
    "batch_size": "per_device_train_batch_size",
    "micro_batch_size": "per_device_train_batch_size",
    "model": "base_model",
    "base_model_name_or_path": "base_model",
    "model_name_or_path": "base_model",
    "train_file": "data",
    "validation_file": "eval_data",
}
LORA_KEYS = ("lora_r", "lora_alpha", "lora_dropout", "target_modules")
TARGET_PRESETS = ("all-linear", "attention")
MAX_STEPS = 10**8  # at even ten steps a second, more than three months of training
# Upper bounds with what a larger value would mean: past them a value is a typo, and the run
# would fail late (out of memory, years of steps) instead of now.
MAXIMA: dict[str, tuple[float, str]] = {
    "num_train_epochs": (MAX_EPOCHS, "more passes than any fine-tuning needs; to train by steps, set max_steps"),
    "per_device_train_batch_size": (
        MAX_BATCH_SIZE,
        "no device holds more sequences in one step; reach larger batches with gradient_accumulation_steps",
    ),
    "per_device_eval_batch_size": (MAX_BATCH_SIZE, "no device holds more sequences in one step"),
    "gradient_accumulation_steps": (MAX_BATCH_SIZE, "so few updates would barely train; lower it"),
    "lora_r": (MAX_LORA_R, "wider than nearly every layer; typical ranks are 8 to 64"),
    "lora_alpha": (16 * MAX_LORA_R, "updates are scaled by lora_alpha / lora_r; typical values are r to 2 x r"),
    "max_length": (MAX_TOKENS, "longer than any model's context window"),
    "max_new_tokens": (MAX_TOKENS, "longer than any model's context window"),
    "max_steps": (MAX_STEPS, "months of training"),
    "save_steps": (MAX_STEPS, "more steps than any run takes"),
    "logging_steps": (MAX_STEPS, "more steps than any run takes"),
    "early_stopping_patience": (MAX_STEPS, "more evaluations than any run makes"),
    "save_total_limit": (10_000, "each checkpoint is a full copy on disk"),
    "eval_generate": (MAX_EXAMPLES, "more than any eval set"),
}
MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit


def _key(default: Any, help: str) -> Any:
    """A config key: its default and the one line `tunewise train --help` shows for it."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """One training run: every key has a default and a line of help; `validate` states each rule.

    Building one validates it, once (`__post_init__`): a `TrainConfig` that exists is a valid one.
    What depends on the machine it runs on (an installed package, a folder on disk) is checked
    when a run starts (`check_runnable`), so a config can be built here for a service elsewhere.
    """

    data: str = _key("demo", "training data: a file, a folder of documents, or a built-in set (demo, demo-qa)")
    eval_data: str | None = _key(None, "your own eval data (default: a seeded, stratified split of data)")
    task: TrainTask | None = _key(None, "classification or generation (default: what the data's columns imply)")
    base_model: str | None = _key(
        None, "built-in alias, local folder or hub id (default: minilm-l6 for labels, smollm2-135m-instruct for text)"
    )
    method: Method = _key("lora", "full, lora or qlora")
    output_dir: str | None = _key(None, "the run folder (default: runs/<data>-<task>-<method>)")
    max_length: int | None = _key(None, "tokens per example (default: the data's longest, within the model's limit)")
    learning_rate: float | None = _key(
        None, "peak learning rate (default: 5e-5 full encoder, 2e-5 full LM, 5e-4 LoRA encoder, 2e-4 LoRA LM)"
    )
    num_train_epochs: float = _key(3.0, "passes over the training data")
    per_device_train_batch_size: int = _key(16, "examples per step on each device")
    per_device_eval_batch_size: int | None = _key(
        None, "examples per eval step (default: twice the train batch for classification, the same for generation)"
    )
    gradient_accumulation_steps: int = _key(1, "steps whose gradients add up before each update")
    weight_decay: float = _key(0.0, "AdamW weight decay")
    warmup_ratio: float = _key(0.0, "share of the steps spent warming the learning rate up")
    lr_scheduler_type: Scheduler = _key("linear", "linear, cosine, constant or constant_with_warmup")
    seed: int = _key(42, "seed of the weights of a new head, dropout and the data order")
    lora_r: int = _key(16, "LoRA rank")
    lora_alpha: int = _key(32, "LoRA scale: updates are multiplied by lora_alpha / lora_r")
    lora_dropout: float = _key(DEFAULT_LORA_DROPOUT, "dropout on the adapted layers' inputs")
    target_modules: list[str] | str = field(
        default="all-linear", metadata={"help": "all-linear, attention, or a list of module names"}
    )
    gradient_checkpointing: bool = _key(False, "recompute activations in the backward pass: less memory, more time")
    group_by_length: bool = _key(True, "batch examples of similar length: less padding")
    packing: bool = _key(
        False, "generation: rows filled to max_length with whole examples, which never attend to each other"
    )
    early_stopping_patience: int | None = _key(None, "evaluations without improvement before stopping")
    metric_for_best_model: str | None = _key(
        None, "the metric that picks the best checkpoint (default: accuracy for classification, eval_loss otherwise)"
    )
    max_steps: int = _key(-1, "stop after this many optimizer steps, whatever the epochs (-1: train by epochs)")
    save_steps: int | None = _key(None, "evaluate and checkpoint every this many steps (default: each epoch)")
    save_total_limit: int = _key(2, "checkpoints kept on disk")
    logging_steps: int = _key(10, "steps between logged losses")
    precision: Precision = _key("auto", "auto (bf16 or fp16 on a GPU that has it, fp32 on CPU), fp32, bf16 or fp16")
    use_cpu: bool = _key(False, "train on the CPU even when a GPU is present")
    torch_compile: bool = _key(
        False, "compile the model with torch.compile (minutes of compiling; can pay off on a GPU)"
    )
    fit_batch: bool = _key(
        True,
        "on a GPU: as many rows per step as the memory estimate fits on the card, up to the effective batch "
        "(per_device_train_batch_size x gradient_accumulation_steps), accumulation making up the rest; "
        "a first step out of memory is retried once at half the rows",
    )
    attention: Attention = _key(
        "sdpa",
        "attention kernels: sdpa (PyTorch's, where the model has them), eager, or flash_attention_2 "
        "(a GPU with flash-attn installed)",
    )
    liger_kernel: bool = _key(
        False, "Liger's fused kernels (RMSNorm, RoPE, SwiGLU, linear cross-entropy) on a GPU; needs liger-kernel"
    )
    init_adapter: str | None = _key(None, "continue training from this saved LoRA adapter (RUN/model)")
    eval_generate: int = _key(64, "generation: eval examples answered at the end for exact match and token F1")
    max_new_tokens: int = _key(128, "generation: the longest answer")
    report_to: list[Tracker] = field(default_factory=list, metadata={"help": "tensorboard, mlflow and/or wandb"})
    eval_fraction: float = _key(0.2, "share of the data held out for eval when eval_data is not given")
    columns: dict[str, str] = field(
        default_factory=dict, metadata={"help": "which columns hold what, e.g. {text: utterance, label: intent}"}
    )
    aliases_used: dict[str, str] = field(default_factory=dict, metadata={"help": "alias -> key, for the record"})

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keys_help() -> str:
    """Every key with its default and help, for `tunewise train --help`; written from the fields themselves."""
    lines = []
    for f in fields(TrainConfig):
        if f.name == "aliases_used":
            continue
        aliases = [alias for alias, key in ALIASES.items() if key == f.name]
        spelled = f"{f.name} ({', '.join(aliases)})" if aliases else f.name
        default = f.default if f.default is not MISSING else None
        shown = f" (default: {default})" if default not in (None, "") and "default:" not in f.metadata["help"] else ""
        lines.append(f"  {spelled}: {f.metadata['help']}{shown}")
    return "\n".join(lines)


CONFIG_FIELDS = {f.name: f for f in fields(TrainConfig) if f.name != "aliases_used"}


def _canonical(key: str, used: dict[str, str], where: str) -> str:
    if key in CONFIG_FIELDS:
        return key
    if key in ALIASES:
        used[key] = ALIASES[key]
        return ALIASES[key]
    close = difflib.get_close_matches(key, [*CONFIG_FIELDS, *ALIASES], n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see `tunewise train --help` for the keys"
    raise ConfigError(f"{where}unknown config key '{key}'; {hint}")


def _typed(key: str, value: Any, where: str) -> Any:
    kind = str(CONFIG_FIELDS[key].type)
    if key == "target_modules":
        if isinstance(value, str):
            return value if value in TARGET_PRESETS else [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ConfigError(f"{where}target_modules must be all-linear, attention or a list of module names")
    if key == "report_to":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ConfigError(f"{where}report_to must be a list such as [tensorboard]")
        return [str(v).strip() for v in items if str(v).strip() and str(v).strip() != "none"]
    if key == "columns":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}columns must map fields to column names, e.g. {{label: intent}}")
        return {str(k): str(v) for k, v in value.items()}
    return coerce_value(key, kind, value, where)


def build_config(values: dict[str, Any], overrides: list[str] | None = None, source: str = "config") -> TrainConfig:
    """Resolve aliases, apply `key=value` overrides (which win), type and validate."""
    used: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        name = _canonical(str(key), used, f"{source}: ")
        if name in resolved:
            spelled = [k for k in values if _resolves_to(str(k)) == name]
            raise ConfigError(f"{source}: {' and '.join(spelled)} both set {name}; keep one")
        resolved[name] = _typed(name, value, f"{source}: ")
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. --set learning_rate=1e-4")
        key, _, raw = item.partition("=")
        name = _canonical(key.strip(), used, f"--set {key.strip()}: ")
        resolved[name] = _typed(name, _yaml_value(raw), "--set ")
    config = TrainConfig(**resolved, aliases_used=used)  # validated as it is built
    _check_explicit(config, explicit=set(resolved))
    return config


def _resolves_to(key: str) -> str:
    return ALIASES.get(key, key)


def _yaml_value(raw: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: an integer past Python's digit limit
        return raw  # read as text; the key's own type check then names the problem


def load_config(path: Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config file (errors name the file and line), then apply overrides."""
    data, _ = read_yaml_mapping(path, "config file")
    return build_config(data, overrides, str(path))


def validate(config: TrainConfig) -> None:
    """Raise `ConfigError` naming the key for any value out of range or impossible combination.

    The choices are `Literal`s for the type checker; a config read from a file is checked against
    them here, once, as it is built."""
    if config.method not in METHODS:
        raise ConfigError(f"method: '{shorten(config.method)}' is not one of {', '.join(METHODS)}")
    if config.task is not None and config.task not in TRAIN_TASKS:
        raise ConfigError(f"task: '{shorten(config.task)}' is not one the harness trains ({', '.join(TRAIN_TASKS)})")
    if config.lr_scheduler_type not in SCHEDULERS:
        raise ConfigError(
            f"lr_scheduler_type: '{shorten(config.lr_scheduler_type)}' is not one of {', '.join(SCHEDULERS)}"
        )
    _check_finite(config)
    positive = {
        "num_train_epochs": config.num_train_epochs,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_eval_batch_size or 1,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "lora_r": config.lora_r,
        "lora_alpha": config.lora_alpha,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}: {value} must be positive")
    if config.learning_rate is not None and not 0 < config.learning_rate < 1:
        raise ConfigError(f"learning_rate: {config.learning_rate} must be between 0 and 1 (e.g. 2e-4)")
    if config.max_length is not None and config.max_length < 8:
        raise ConfigError(f"max_length: {config.max_length} is too short; give at least 8 tokens")
    for key, value in (("lora_dropout", config.lora_dropout), ("warmup_ratio", config.warmup_ratio)):
        if not 0 <= value < 1:
            raise ConfigError(f"{key}: {value} must be in [0, 1)")
    if not 0 < config.eval_fraction < 1:
        raise ConfigError(f"eval_fraction: {config.eval_fraction} must be between 0 and 1")
    if config.packing and config.task == "classification":
        raise ConfigError("packing: only applies to generation (instruction tuning), not classification")
    for target in config.report_to:
        if target not in REPORT_TO:
            raise ConfigError(f"report_to: '{target}' is not one of {', '.join(REPORT_TO)}")
    if config.precision not in PRECISIONS:
        raise ConfigError(f"precision: '{config.precision}' is not one of {', '.join(PRECISIONS)}")
    if config.attention not in ATTENTIONS:
        raise ConfigError(f"attention: '{shorten(config.attention)}' is not one of {', '.join(ATTENTIONS)}")
    for key, count in (("early_stopping_patience", config.early_stopping_patience), ("save_steps", config.save_steps)):
        if count is not None and count < 1:
            raise ConfigError(f"{key}: {count} must be at least 1")
    if config.max_steps == 0 or config.max_steps < -1:
        raise ConfigError(f"max_steps: {config.max_steps} must be positive (or -1 to train for num_train_epochs)")
    for key, count in (
        ("save_total_limit", config.save_total_limit),
        ("logging_steps", config.logging_steps),
        ("max_new_tokens", config.max_new_tokens),
    ):
        if count < 1:
            raise ConfigError(f"{key}: {count} must be at least 1")
    if config.eval_generate < 0:
        raise ConfigError(f"eval_generate: {config.eval_generate} must be 0 (skip) or more")
    _check_maxima(config)
    if config.init_adapter is not None and config.method == "full":
        raise ConfigError("init_adapter: continues a LoRA adapter; set method: lora or qlora, or remove it")
    if isinstance(config.target_modules, str) and config.target_modules not in TARGET_PRESETS:
        raise ConfigError(
            f"target_modules: '{config.target_modules}' is not a preset ({', '.join(TARGET_PRESETS)}); "
            "give a list of module names"
        )


def _check_explicit(config: TrainConfig, explicit: set[str]) -> None:
    """Keys the user set that the method would silently ignore."""
    if config.method == "full" and explicit & set(LORA_KEYS):
        keys = ", ".join(sorted(explicit & set(LORA_KEYS)))
        raise ConfigError(f"{keys}: only apply to method lora or qlora; remove them or set method: lora")


def check_runnable(config: TrainConfig) -> None:
    """What a run needs from this machine, checked when it starts: the adapter folder it continues,
    and bitsandbytes for QLoRA. (A bundle for a service is built without them: the service has its own.)"""
    if (
        config.init_adapter is not None
        and not (Path(config.init_adapter).expanduser() / "adapter_config.json").is_file()
    ):
        raise ConfigError(
            f"init_adapter: {config.init_adapter} holds no adapter_config.json; give the adapter folder of a run "
            "(RUN/model)"
        )
    if config.attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise ConfigError(
            "attention: flash_attention_2 needs the flash-attn package on a CUDA GPU; install it or use attention: sdpa"
        )
    if config.liger_kernel and importlib.util.find_spec("liger_kernel") is None:
        raise ConfigError("liger_kernel: true needs the liger-kernel package on a CUDA GPU; install it or set it false")
    if config.method == "qlora" and importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            "method: qlora needs bitsandbytes; install the quant extra (pip install 'tunewise[quant]') or use method: lora"
        )


def _check_finite(config: TrainConfig) -> None:
    """NaN and infinity pass every comparison-based rule below (NaN compares false), so refuse them first."""
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float):
            check_range(f.name, value, None, None)


def _check_maxima(config: TrainConfig) -> None:
    for key, (maximum, why) in MAXIMA.items():
        value = getattr(config, key)
        if value is not None:
            check_range(key, value, None, maximum, why)
    check_range(
        "weight_decay",
        config.weight_decay,
        0,
        1,
        "each step shrinks every weight by learning_rate x weight_decay; typical values are 0 to 0.1",
    )
    check_range("seed", config.seed, 0, MAX_SEED, "NumPy's seeds are 32-bit")
