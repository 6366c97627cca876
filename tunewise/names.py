"""The names every room uses: tasks, methods, the default model per task, the progress callback.

Written once here, so that a task the questionnaire offers is one the data loader knows, and a
method the advisor recommends is one the harness trains and the comparison names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

# What the user wants done, as the questionnaire and `--task` name it.
TASKS = ("classification", "extraction", "generation", "qa", "style")
# What the harness trains: a classifier head, or a causal LM on prompt/completion pairs.
TrainTask = Literal["classification", "generation"]
TRAIN_TASKS: tuple[TrainTask, ...] = get_args(TrainTask)

# The ways to fine-tune, as the estimator, the harness and the advice name them.
Method = Literal["full", "lora", "qlora"]
METHODS: tuple[Method, ...] = get_args(Method)
# Every option the advisor ranks: the fine-tuning methods and the ones that train no model
# weights (`head` fits a linear classifier on frozen sentence embeddings, in seconds).
OPTIONS = ("prompting", "rag", "head", "full", "lora", "qlora", "rag+lora")
TRAINED_OPTIONS = ("full", "lora", "qlora", "rag+lora")

DEFAULT_ENCODER = "minilm-l6"
DEFAULT_CAUSAL_LM = "smollm2-135m-instruct"
DEFAULT_EMBEDDER = DEFAULT_ENCODER


def default_model(task: str) -> str:
    """The built-in model a task starts from: the encoder for labels, the chat model for text."""
    return DEFAULT_ENCODER if task == "classification" else DEFAULT_CAUSAL_LM


Progress = Callable[[str, float], None]
"""A progress callback: a short description of the current stage and the fraction done (0..1)."""
