"""The questionnaire, as data: every answer the advisor uses, with its default and its rule.

Other programs write these files, so the key names are an interface. Each key is also a
command-line flag with dashes (`n_examples` -> `--n-examples 300`). Values are resolved in
this order, later winning: the defaults below, `--detect-hardware`, `--from-data DATA`,
`--answers FILE`, then explicit flags.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from advisor.errors import ConfigError

TASKS = ("classification", "extraction", "generation", "qa", "style")
KNOWLEDGE_CHANGES = ("never", "rarely", "often")
DEFAULT_GPU_MEMORY_GB = 24.0


def _answer(default: Any, help: str, *, choices: tuple[str, ...] | None = None, minimum: float | None = None) -> Any:
    metadata = {"help": help, "choices": choices, "minimum": minimum}
    return field(default=default, metadata=metadata)


@dataclass
class Answers:
    """What the user told tunewise (or what tunewise read from their data and machine)."""

    task: str = _answer(
        "classification",
        "what the model must do: classification, extraction, generation (instruction following), "
        "qa (question answering over documents) or style (tone/style adaptation)",
        choices=TASKS,
    )
    n_examples: int = _answer(0, "labelled examples (input -> desired output) available for training", minimum=0)
    n_labels: int | None = _answer(None, "distinct labels, for classification", minimum=2)
    n_documents: int = _answer(0, "documents in the knowledge base the answers must draw on", minimum=0)
    knowledge_changes: str = _answer(
        "never", "how often that knowledge changes: never, rarely or often", choices=KNOWLEDGE_CHANGES
    )
    one_off: bool = _answer(False, "a one-off job rather than a model used in production")
    prompt_controllable: bool = _answer(
        False, "a system prompt or structured input already gets the behaviour you want"
    )
    needs_citations: bool = _answer(False, "answers must cite the documents they come from")
    needs_domain_adaptation: bool = _answer(
        False, "the task needs precise domain adaptation (legal contracts, medical notes, in-house jargon)"
    )
    must_run_locally: bool = _answer(False, "data may not leave your machines: training and serving stay local")
    latency_ms: float | None = _answer(None, "the slowest acceptable answer, in milliseconds", minimum=1)
    base_model: str | None = _answer(
        None,
        "the model to start from: a built-in alias, a local folder or a hub id "
        "(default: minilm-l6 for classification, smollm2-135m-instruct otherwise)",
    )
    model_params: float | None = _answer(None, "the base model's size when no model is named, e.g. 7e9", minimum=1)
    seq_len: int = _answer(256, "tokens per example to plan for (the 95th percentile of your data)", minimum=8)
    tokens_per_example: int | None = _answer(None, "mean tokens per example (default: half of seq_len)", minimum=1)
    gpu_memory_gb: float = _answer(DEFAULT_GPU_MEMORY_GB, "memory of each GPU in GB; 0 means CPU only", minimum=0)
    gpu_count: int | None = _answer(None, "number of GPUs (default: 1 with GPU memory, 0 without)", minimum=0)
    ram_gb: float = _answer(32.0, "system memory in GB", minimum=0.5)
    cpu_cores: int = _answer(8, "CPU cores, for CPU-only estimates", minimum=1)
    budget_usd: float | None = _answer(None, "the most you will spend on compute, in US dollars", minimum=0)
    budget_hours: float | None = _answer(None, "the longest you will wait for training, in hours", minimum=0)
    price_per_gpu_hour: float = _answer(2.0, "what one GPU-hour costs you, in US dollars", minimum=0)

    def __post_init__(self) -> None:
        if self.gpu_count is None:
            self.gpu_count = 1 if self.gpu_memory_gb > 0 else 0
        validate(self)

    @property
    def gpus(self) -> int:
        return self.gpu_count or 0

    @property
    def mean_tokens(self) -> int:
        return self.tokens_per_example or max(1, self.seq_len // 2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ANSWER_FIELDS = {f.name: f for f in fields(Answers)}


def default_of(name: str) -> Any:
    default = ANSWER_FIELDS[name].default
    return None if default is MISSING else default


def validate(answers: Answers) -> None:
    """Raise `ConfigError` for a value out of range or answers that contradict each other."""
    for f in fields(answers):
        value = getattr(answers, f.name)
        choices, minimum = f.metadata.get("choices"), f.metadata.get("minimum")
        if value is None:
            continue
        if choices and value not in choices:
            raise ConfigError(f"{f.name}: '{value}' is not one of {', '.join(choices)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name}: {value} is not a finite number")
            if minimum is not None and value < minimum:
                rule = "negative" if minimum == 0 and value < 0 else f"below the minimum of {minimum:g}"
                raise ConfigError(f"{f.name}: {value:g} is {rule}; give a value of at least {minimum:g}")
    if answers.gpus > 0 and answers.gpu_memory_gb == 0:
        raise ConfigError(
            f"gpu_count is {answers.gpus} but gpu_memory_gb is 0 (a GPU with 0 GB); give each GPU's memory, "
            "or gpu_count 0 for CPU only"
        )
    if answers.gpus == 0 and answers.gpu_memory_gb > 0:
        raise ConfigError(
            f"gpu_memory_gb is {answers.gpu_memory_gb:g} but gpu_count is 0; give the number of GPUs, "
            "or gpu_memory_gb 0 for CPU only"
        )
    if answers.base_model and answers.model_params is not None:
        raise ConfigError("give base_model or model_params, not both: model_params is for when no model is named")
    if answers.needs_citations and answers.n_documents == 0:
        raise ConfigError(
            "needs_citations is true but n_documents is 0: citations point into documents; "
            "give n_documents, or set needs_citations to false"
        )
    if answers.n_labels is not None and answers.task != "classification":
        raise ConfigError(f"n_labels is given but task is {answers.task}; labels belong to classification")


# ---------------------------------------------------------------------------- parsing values


def coerce(name: str, value: Any, where: str = "") -> Any:
    """Turn a YAML or command-line value into the type of answer `name`; name the place on failure."""
    if name not in ANSWER_FIELDS:
        raise ConfigError(f"{where + ': ' if where else ''}{unknown_key_message(name)}")
    return coerce_value(name, str(ANSWER_FIELDS[name].type), value, f"{where}: " if where else "")


def coerce_value(name: str, kind: str, value: Any, place: str = "") -> Any:
    """Turn `value` into `kind` (a dataclass field's type, as text: "int | None", "bool"...).

    Shared by the questionnaire and the training config, so both accept the same spellings
    (true/yes/1, 7e9, 7B, 1,200).
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "null", "none"}):
        if "None" in kind:
            return None
        raise ConfigError(f"{place}{name} needs a value")
    try:
        if kind.startswith("bool"):
            return _bool(value)
        if kind.startswith("int"):
            return _int(value)
        if kind.startswith("float"):
            return _number(value)
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        return value.strip()
    except ValueError as exc:
        raise ConfigError(f"{place}{name}: {exc}") from exc


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1", "on"}:
        return True
    if text in {"false", "no", "n", "0", "off"}:
        return False
    raise ValueError(f"'{value}' is not true or false")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("_", "").replace(",", "")
    suffixes = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
    if text and text[-1].lower() in suffixes:
        return float(text[:-1]) * suffixes[text[-1].lower()]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a number") from None


def _int(value: Any) -> int:
    number = _number(value)
    if not number.is_integer():
        raise ValueError(f"'{value}' is not a whole number")
    return int(number)


def unknown_key_message(name: str) -> str:
    close = difflib.get_close_matches(name, ANSWER_FIELDS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(ANSWER_FIELDS)}"
    return f"unknown key '{name}'; {hint}"


def build_answers(*layers: dict[str, Any]) -> Answers:
    """Merge layers of already-coerced values (later layers win) into validated `Answers`."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return Answers(**merged)


# ---------------------------------------------------------------------------- YAML files


def read_answers_file(path: Path) -> dict[str, Any]:
    """Read a YAML answers file into coerced values; errors name the file, line and key."""
    import yaml

    source = str(path)
    if not path.is_file():
        raise ConfigError(f"{source}: no such file; check the path")
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{source}: expected key: value lines at the top level")
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in root.value}
    return {str(key): coerce(str(key), value, f"{source}:{lines.get(str(key), 1)}") for key, value in data.items()}


def save_answers(answers: Answers, path: Path) -> None:
    """Write every answer with its help text as a comment, atomically."""
    from advisor.atomic import atomic_write_text

    lines = ["# tunewise answers: edit and pass back with --answers FILE", ""]
    for f in fields(answers):
        value = getattr(answers, f.name)
        lines.append(f"# {f.metadata['help']}")
        lines.append(f"{f.name}: {_yaml_scalar(value)}")
    atomic_write_text(path, "\n".join(lines) + "\n")


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:.6g}".replace("e+0", "e").replace("e+", "e")
    if isinstance(value, int):
        return str(value)
    import json

    return json.dumps(value)  # a quoted string is valid YAML


# ---------------------------------------------------------------------------- pre-filling


def from_profile(report: dict[str, Any]) -> dict[str, Any]:
    """Answers that a `tunewise profile` report settles: task, sizes and token lengths."""
    tokens = report["token_lengths"]
    values: dict[str, Any] = {
        "task": report["task"],
        "seq_len": max(8, int(tokens["p95"])),
        "tokens_per_example": max(1, round(tokens["mean"])),
    }
    if report["shape"] == "documents":
        values |= {"n_documents": report["n_examples"], "n_examples": 0}
    else:
        values["n_examples"] = report["n_examples"]
    if report["labels"] is not None:
        values["n_labels"] = len(report["labels"])
    return values
