"""`TrainingArguments` across the transformers releases `pyproject.toml` admits.

The harness speaks the newest names (`activation_checkpointing`, `train_sampling_strategy`); a
release from before a rename knows the old name, and passing the new one there fails with
"unexpected keyword argument". Each renamed argument is translated here, once, so a GPU image
with an older transformers trains the same config.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tunewise.errors import ConfigError


def _sampling_as_group_by_length(value: str) -> tuple[str, Any]:
    return "group_by_length", value == "group_by_length"


# newest name -> how a release without it says the same thing
OLDER_SPELLINGS = {
    "activation_checkpointing": lambda value: ("gradient_checkpointing", value),
    "train_sampling_strategy": _sampling_as_group_by_length,
}


def accepted_arguments() -> set[str]:
    from transformers import TrainingArguments

    return {f.name for f in dataclasses.fields(TrainingArguments) if f.init}


def portable(values: dict[str, Any], accepted: set[str] | None = None) -> dict[str, Any]:
    """`values` in the names the installed `TrainingArguments` accepts."""
    accepted = accepted_arguments() if accepted is None else accepted
    translated: dict[str, Any] = {}
    for name, value in values.items():
        if name in accepted:
            translated[name] = value
            continue
        older = OLDER_SPELLINGS.get(name)
        if older is None or older(value)[0] not in accepted:
            import transformers

            raise ConfigError(
                f"transformers {transformers.__version__} has no training argument '{name}'; "
                "install the release pyproject.toml asks for (pip install -U transformers)"
            )
        old_name, old_value = older(value)
        translated[old_name] = old_value
    return translated


def training_arguments(**values: Any) -> Any:
    """A `TrainingArguments` from the newest names, whatever the installed release."""
    from transformers import TrainingArguments

    return TrainingArguments(**portable(values))


def sampling_strategy(args: Any) -> str:
    """How the training set is ordered, read from arguments of either release."""
    strategy = getattr(args, "train_sampling_strategy", None)
    if strategy is not None:
        return str(strategy)
    return "group_by_length" if getattr(args, "group_by_length", False) else "random"
