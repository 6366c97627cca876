"""The questionnaire, as data: every answer the advisor uses, with its default and its rule.

Other programs write these files, so the key names are an interface. Each key is also a
command-line flag with dashes (`n_examples` -> `--n-examples 300`). Values are resolved in
this order, later winning: the defaults below, `--detect-hardware`, `--from-data DATA`,
`--answers FILE`, then explicit flags.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from dataclasses import MISSING, asdict, dataclass, field, fields
from decimal import Context
from pathlib import Path
from typing import Any

from advisor.errors import ConfigError, StorageError, shorten

TASKS = ("classification", "extraction", "generation", "qa", "style")
KNOWLEDGE_CHANGES = ("never", "rarely", "often")
DEFAULT_GPU_MEMORY_GB = 24.0
ANSWERS_HEADER = "# tunewise answers"  # the first line of every saved answers file

# Upper bounds: past them a number is a typo or a wrong unit, and the estimates would only
# print absurd figures. Shared with the estimator and the training config.
MAX_EXAMPLES = 10**10  # more than any fine-tuning data set or knowledge base
MAX_LABELS = 10**7  # more classes than the largest extreme-classification label sets
MAX_TOKENS = 10**7  # longer than any model's context window
MAX_PARAMS = 1e14  # fifty times the largest published models


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


def default_of(name: str) -> Any:
    default = ANSWER_FIELDS[name].default
    return None if default is MISSING else default


def validate(answers: Answers) -> None:
    """Raise `ConfigError` for a value out of range or answers that contradict each other."""
    for f in fields(answers):
        value = getattr(answers, f.name)
        choices = f.metadata.get("choices")
        if value is None:
            continue
        if choices and value not in choices:
            raise ConfigError(f"{f.name}: '{shorten(value)}' is not one of {', '.join(choices)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            check_range(f.name, value, f.metadata.get("minimum"), f.metadata.get("maximum"), f.metadata.get("why", ""))
    _check_consistency(answers)


def check_range(name: str, value: float, minimum: float | None, maximum: float | None, why: str = "") -> None:
    """Raise `ConfigError` naming `name` for a value that is not finite or is outside [minimum, maximum].

    `why` says what a value above `maximum` would mean, so the user sees it is a typo and not a limit of tunewise.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}: {value} is not a finite number; give a finite value")
    if minimum is not None and value < minimum:
        rule = "negative" if minimum == 0 and value < 0 else f"below the minimum of {minimum:g}"
        raise ConfigError(f"{name}: {show_number(value)} is {rule}; give a value of at least {minimum:g}")
    if maximum is not None and value > maximum:
        reason = f" ({why})" if why else ""
        raise ConfigError(
            f"{name}: {show_number(value)} is above the maximum of {show_number(maximum)}{reason}; check the number"
        )


def show_number(value: float) -> str:
    """A number as a message shows it: 1,200 or 0.05, and 1e+30 rather than thirty-one digits."""
    if isinstance(value, int):
        # Through Decimal: 'g' formatting of an int goes through a float, which 10**400 overflows.
        return f"{Context(prec=3).create_decimal(value).normalize():g}" if abs(value) >= 10**15 else f"{value:,}"
    return f"{value:.3g}" if abs(value) >= 1e15 else f"{value:,g}"


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
    raise ValueError(f"'{shorten(value)}' is not true or false")


def _number(value: Any) -> float:
    """A finite float from a number or its text (7e9, 7B, 1,200); NaN and infinity are refused here,
    where the place is known, since they would pass every range check later (all comparisons with NaN are false).
    """
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    try:
        number = float(value) if isinstance(value, int | float) else _parse_number(str(value))
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{shorten(value)} is too large") from None
    if math.isnan(number):
        raise ValueError(f"'{shorten(value)}' is not a number (NaN); give a number such as 1 or 0.5")
    if math.isinf(number):
        raise ValueError(f"'{shorten(value)}' is infinite or too large; give a finite number")
    return number


def _parse_number(text: str) -> float:
    cleaned = text.strip().replace("_", "").replace(",", "")
    suffixes = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
    scale = suffixes.get(cleaned[-1:].lower(), 1.0)
    if scale != 1.0:
        cleaned = cleaned[:-1]
    try:
        return float(cleaned) * scale
    except ValueError:
        raise ValueError(f"'{shorten(text)}' is not a number") from None


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # exact, however large: the range check names the problem
    number = _number(value)
    if not number.is_integer():
        raise ValueError(f"'{shorten(value)}' is not a whole number")
    return int(number)


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


def read_yaml_mapping(path: Path, what: str) -> tuple[dict[Any, Any], dict[str, int]]:
    """A YAML file of `key: value` lines and the line of each key; any failure is a `ConfigError` naming the file.

    Shared by the answers file and the training config. `what` names the file in messages ("config file").
    """
    import yaml

    source = str(path)
    text = _read_yaml_text(path, what)
    root: Any = None  # composed first: it keeps each key's line, and nodes are not yet converted to values
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids: usually a binary file
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(
            f"{source}:{line}: character U+{code:04X} at column {column} is not allowed in YAML (a binary "
            f"file?); save the {what} as UTF-8 text of key: value lines"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = shorten(getattr(exc, "problem", None) or exc, 200)
        raise ConfigError(f"{source}{at}: not valid YAML ({problem}); fix the syntax") from exc
    except RecursionError as exc:  # PyYAML recurses once per level of nesting
        raise ConfigError(
            f"{source}: YAML nested too deeply to read; write the {what} as key: value lines with plain values"
        ) from exc
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        long_line, digits = _long_integer(root)
        raise ConfigError(
            f"{source}{f':{long_line}' if long_line else ''}: a whole number of {digits} digits, more than Python "
            f"reads ({sys.get_int_max_str_digits():,}); fix the value"
        ) from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{source}: expected key: value lines at the top level")
    return data, {str(key.value): key.start_mark.line + 1 for key, _ in root.value}


def _read_yaml_text(path: Path, what: str) -> str:
    source = str(path)
    if path.is_dir():
        raise ConfigError(f"{source}: a folder, not a file; give the YAML {what} itself")
    if not path.is_file():
        raise ConfigError(f"{source}: no such {what}; check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the {what} ({exc.strerror or exc}); check its permissions") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{source}:{line}: byte 0x{data[exc.start : exc.start + 1].hex()} at column {column} is not UTF-8 text "
            f"(a binary file?); save the {what} as UTF-8 text of key: value lines"
        ) from exc


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _long_integer(root: Any) -> tuple[int | None, str]:
    """The line and digit count of the first integer too long for Python to convert, in a composed YAML tree."""
    import yaml

    limit = sys.get_int_max_str_digits()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:int" and limit and len(node.value) > limit:
                return int(node.start_mark.line) + 1, f"{len(node.value):,}"
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
    return None, "thousands of"


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
    from advisor.atomic import atomic_write_text

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
