"""The questionnaire, as data: every answer the advisor uses, with its default and its rule.

Other programs write these files, so the key names are an interface. Each key is also a
command-line flag with dashes (`n_examples` -> `--n-examples 300`). Values are resolved in
this order, later winning: the defaults below, this machine's hardware (unless
`--no-detect-hardware`, and only where the file and flags declare none), `--from-data DATA`,
`--answers FILE`, then explicit flags.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunewise.defaults import MAX_EXAMPLES, MAX_LABELS, MAX_PARAMS, MAX_TOKENS
from tunewise.errors import ConfigError, StorageError, shorten
from tunewise.names import TASKS
from tunewise.values import check_range, coerce_value
from tunewise.yaml_files import read_yaml_mapping

if TYPE_CHECKING:
    from tunewise.data.task import DataSpec, TaskData

KNOWLEDGE_CHANGES = ("never", "rarely", "often")
DEFAULT_GPU_MEMORY_GB = 24.0
ANSWERS_HEADER = "# tunewise answers"  # the first line of every saved answers file


def _answer(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    why: str = "",
) -> Any:
    metadata = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "why": why}
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
    n_examples: int = _answer(
        0,
        "labelled examples (input -> desired output) available for training",
        minimum=0,
        maximum=MAX_EXAMPLES,
        why="more than any fine-tuning data set",
    )
    n_labels: int | None = _answer(
        None, "distinct labels, for classification", minimum=2, maximum=MAX_LABELS, why="more than any label set"
    )
    n_documents: int = _answer(
        0,
        "documents in the knowledge base the answers must draw on",
        minimum=0,
        maximum=MAX_EXAMPLES,
        why="more than any knowledge base",
    )
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
    model_params: float | None = _answer(
        None,
        "the base model's size when no model is named, e.g. 7e9",
        minimum=1,
        maximum=MAX_PARAMS,
        why="fifty times the largest published models",
    )
    seq_len: int = _answer(
        256,
        "tokens per example to plan for (the 95th percentile of your data)",
        minimum=8,
        maximum=MAX_TOKENS,
        why="longer than any model's context window",
    )
    tokens_per_example: int | None = _answer(
        None,
        "mean tokens per example (default: half of seq_len)",
        minimum=1,
        maximum=MAX_TOKENS,
        why="longer than any model's context window",
    )
    gpu_memory_gb: float = _answer(
        DEFAULT_GPU_MEMORY_GB,
        "memory of each GPU in GB; 0 means CPU only",
        minimum=0,
        maximum=1024,
        why="no single GPU has that much: give one GPU's memory, and their number in gpu_count",
    )
    gpu_count: int | None = _answer(
        None,
        "number of GPUs (default: 1 with GPU memory, 0 without)",
        minimum=0,
        maximum=100_000,
        why="more than the largest clusters",
    )
    ram_gb: float = _answer(32.0, "system memory in GB", minimum=0.5, maximum=100_000, why="more than any one machine")
    cpu_cores: int = _answer(
        8, "CPU cores, for CPU-only estimates", minimum=1, maximum=100_000, why="more than any one machine"
    )
    budget_usd: float | None = _answer(None, "the most you will spend on compute, in US dollars", minimum=0)
    budget_hours: float | None = _answer(None, "the longest you will wait for training, in hours", minimum=0)
    price_per_gpu_hour: float = _answer(
        2.0,
        "what one GPU-hour costs you, in US dollars",
        minimum=0,
        maximum=10_000,
        why="thousands of times what GPUs rent for",
    )

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


def validate(answers: Answers) -> None:
    """Raise `ConfigError` for a value out of range or answers that contradict each other."""
    for f in fields(answers):
        check_value(f.name, getattr(answers, f.name))
    _check_consistency(answers)


def check_value(name: str, value: Any) -> None:
    """Raise `ConfigError` when one answer's value is not one of its choices or out of its range."""
    f = ANSWER_FIELDS[name]
    choices = f.metadata.get("choices")
    if value is None:
        return
    if choices and value not in choices:
        raise ConfigError(f"{f.name}: '{shorten(value)}' is not one of {', '.join(choices)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        check_range(f.name, value, f.metadata.get("minimum"), f.metadata.get("maximum"), f.metadata.get("why", ""))


def _check_consistency(answers: Answers) -> None:
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
    if answers.n_labels is not None and 0 < answers.n_examples < answers.n_labels:
        raise ConfigError(
            f"n_labels is {answers.n_labels:,} but n_examples is {answers.n_examples:,}: more labels than examples, "
            "and every label needs at least one; give the real counts (n_examples 0 if you have no examples yet)"
        )


def answer_warnings(answers: Answers) -> list[str]:
    """Answers that are possible but unusual enough to point out (one line each)."""
    warnings: list[str] = []
    if answers.n_labels is not None and answers.n_labels <= answers.n_examples < 2 * answers.n_labels:
        warnings.append(
            f"n_labels {answers.n_labels:,} with n_examples {answers.n_examples:,}: fewer than two examples per label, "
            "so some labels cannot be both trained and evaluated"
        )
    if answers.tokens_per_example is not None and answers.tokens_per_example > answers.seq_len:
        warnings.append(
            f"tokens_per_example {answers.tokens_per_example:,} is above seq_len {answers.seq_len:,}: "
            "longer examples are cut to seq_len; raise seq_len to keep them whole"
        )
    return warnings


# ---------------------------------------------------------------------------- parsing values


def coerce(name: str, value: Any, where: str = "") -> Any:
    """Turn a YAML or command-line value into the type of answer `name`; name the place on failure."""
    if name not in ANSWER_FIELDS:
        raise ConfigError(f"{where + ': ' if where else ''}{unknown_key_message(name)}")
    return coerce_value(name, str(ANSWER_FIELDS[name].type), value, f"{where}: " if where else "")


def unknown_key_message(name: str) -> str:
    close = difflib.get_close_matches(name, ANSWER_FIELDS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(ANSWER_FIELDS)}"
    return f"unknown key '{shorten(name)}'; {hint}"


def build_answers(*layers: dict[str, Any]) -> Answers:
    """Merge layers of already-coerced values (later layers win) into validated `Answers`."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return Answers(**merged)


# ---------------------------------------------------------------------------- YAML files


def read_answers_file(path: Path) -> dict[str, Any]:
    """Read a YAML answers file into coerced values; errors name the file, line and key."""
    source = str(path)
    data, lines = read_yaml_mapping(path, "answers file")
    return {str(key): coerce(str(key), value, f"{source}:{lines.get(str(key), 1)}") for key, value in data.items()}


def check_destination(path: Path, flag: str) -> None:
    """Refuse, before any work, a file path that cannot be written: a folder, or under a file."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: a folder; give a file name, e.g. {path / 'answers.yaml'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: cannot write in {parent} (permission denied); choose another folder")
    if path.exists() and not is_answers_file(path):
        raise ConfigError(
            f"{flag} {path}: already exists and is not an answers file written by tunewise; "
            "choose another file name, or remove it yourself"
        )


def is_answers_file(path: Path) -> bool:
    """True if `path` starts the way `save_answers` writes, so replacing it loses nothing of the user's."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().startswith(ANSWERS_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def save_answers(answers: Answers, path: Path) -> None:
    """Write every answer with its help text as a comment, atomically; a `StorageError` if the disk refuses."""
    from tunewise.atomic import atomic_write_text

    lines = [f"{ANSWERS_HEADER}: edit and pass back with --answers FILE", ""]
    for f in fields(answers):
        value = getattr(answers, f.name)
        lines.append(f"# {f.metadata['help']}")
        lines.append(f"{f.name}: {_yaml_scalar(value)}")
    try:
        atomic_write_text(path, "\n".join(lines) + "\n")
    except OSError as exc:  # atomic_write_text removes its temporary file: nothing is left behind
        raise StorageError(f"{path}: cannot write the answers ({exc.strerror or exc}); choose another path") from exc


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


# Detection fills each group only when the user declared none of its keys: planning for a GPU
# they do not have here must not mix its memory with this machine's count of 0.
HARDWARE_GROUPS = (("gpu_memory_gb", "gpu_count"), ("ram_gb", "cpu_cores"))


def detected_hardware(declared: set[str]) -> dict[str, Any]:
    """This machine's hardware answers, for every group of keys not in `declared`."""
    from advisor.hardware import detect_hardware

    found = detect_hardware().answers()
    return {key: found[key] for group in HARDWARE_GROUPS if not declared & set(group) for key in group}


def hardware_source(detect: bool, declared: set[str]) -> str:
    """Where the hardware the advice is for came from, for the first line of the advice."""
    hardware = {key for group in HARDWARE_GROUPS for key in group}
    if declared & hardware:
        return "as declared" if not detect or hardware <= declared else "as declared, the rest from this machine"
    return "this machine" if detect else "the defaults, not this machine"


def collect_answers(
    *,
    data: DataSpec | TaskData | None = None,
    model: str | None = None,
    detect_hardware: bool = False,
    answers_file: Path | None = None,
    flags: dict[str, Any] | None = None,
) -> tuple[Answers, dict[str, Any] | None]:
    """The answers from every source, later winning, and the data's profile when data is given
    (as a spec to read, or as data a caller has read already).

    The order: the defaults, the detected hardware (each group the file and flags leave out),
    the data's profile, an answers file, then flags. `recommend` and the app both call this, so the same data gives the same answers.
    """
    later = [read_answers_file(answers_file) if answers_file is not None else {}, flags or {}]
    layers: list[dict[str, Any]] = []
    if detect_hardware:
        layers.append(detected_hardware({key for layer in later for key in layer}))
    report = None
    if data is not None:
        from tunewise.data.profile import profile
        from tunewise.data.task import TaskData, load_task_data

        report = profile(data if isinstance(data, TaskData) else load_task_data(data), model=model)
        layers.append(from_profile(report))
    return build_answers(*layers, *later), report
