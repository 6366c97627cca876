"""Command-line flags for every questionnaire key (`n_examples` -> `--n-examples`)."""

from __future__ import annotations

import argparse
from typing import Any

from advisor.answers import ANSWER_FIELDS, coerce


def add_answer_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("answers (each also a key of the --answers file)")
    for name, spec in ANSWER_FIELDS.items():
        flag = "--" + name.replace("_", "-")
        help_text = spec.metadata["help"]
        default = spec.default
        shown = f" (default: {default})" if default is not None else ""
        if str(spec.type).startswith("bool"):
            group.add_argument(
                flag,
                dest=f"answer_{name}",
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text + shown,
            )
        else:
            choices = spec.metadata.get("choices")
            group.add_argument(
                flag,
                dest=f"answer_{name}",
                default=argparse.SUPPRESS,
                metavar=name.upper() if not choices else None,
                choices=choices,
                help=help_text + shown,
            )


def answers_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The answers given as flags, coerced and named after their flag in errors."""
    values: dict[str, Any] = {}
    for key, value in vars(args).items():
        if key.startswith("answer_"):
            name = key.removeprefix("answer_")
            values[name] = coerce(name, value, "--" + name.replace("_", "-"))
    return values
