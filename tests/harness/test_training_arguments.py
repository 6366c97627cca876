"""Training arguments spelled for the installed transformers, and for older releases."""

from __future__ import annotations

import pytest

from harness.training_arguments import accepted_arguments, portable, training_arguments
from tunewise.errors import ConfigError

NEW = {"activation_checkpointing": True, "train_sampling_strategy": "group_by_length", "seed": 3}
# What transformers 5.0 accepts of the above: the names before the renames.
OLDER_RELEASE = {"gradient_checkpointing", "group_by_length", "seed"}


def test_the_installed_release_takes_the_arguments_the_harness_builds(tmp_path: object) -> None:
    args = training_arguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", **NEW)
    assert args.seed == 3
    accepted = accepted_arguments()
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in accepted else "gradient_checkpointing"
    assert getattr(args, checkpointing) is True


def test_an_older_release_gets_the_older_names() -> None:
    assert portable(NEW, OLDER_RELEASE) == {"gradient_checkpointing": True, "group_by_length": True, "seed": 3}
    random_order = portable({"train_sampling_strategy": "random"}, OLDER_RELEASE)
    assert random_order == {"group_by_length": False}


def test_an_argument_no_release_spelling_knows_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="no training argument 'activation_checkpointing'"):
        portable({"activation_checkpointing": True}, {"seed"})
