"""The user's data as token ids for one run: split, encoded, and cached between runs.

The cache key covers everything the ids depend on (the examples themselves, the tokenizer's
files, the task, the length limit and this module's format), so a changed file or tokenizer
can never reuse stale ids, and an unchanged one skips tokenising: chat templates are slow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import TrainConfig
from harness.tokenize import encode_classification, encode_generation, label_ids
from tunewise.atomic import atomic_write_json
from tunewise.data.shapes import Dataset, Shape, target_text
from tunewise.data.task import DataSpec, TaskData, load_task_data
from tunewise.errors import DataError
from tunewise.paths import cache_dir

CACHE_FORMAT = 1
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "chat_template.jinja",
    "tokenizer.model",
)
LONGEST_DEFAULT = 2048  # the cap when neither the config nor the model sets one


@dataclass
class Examples:
    task: str  # classification or generation
    data: TaskData
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    label2id: dict[str, int] | None
    max_length: int
    truncated: int  # training examples cut at max_length
    cache_hit: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def eval_set(self) -> Dataset:
        return self.data.eval

    def eval_ids(self) -> list[str]:
        return [self.data.eval.where(i) for i in range(len(self.data.eval))]

    def eval_targets(self) -> list[str]:
        shape = self.data.eval.shape
        return [target_text(shape, r) for r in self.data.eval.records]


def training_task(config: TrainConfig, data: TaskData) -> str:
    """classification or generation: what the harness trains for this data."""
    if data.dataset.shape is Shape.DOCUMENTS:
        raise DataError(
            f"{data.dataset.source}: a document collection has no answers to learn from; "
            "index it with `tunewise rag build`, or give question/answer or prompt/completion pairs"
        )
    if config.task == "classification" or (config.task is None and data.task == "classification"):
        return "classification"
    return "generation"


def load_examples_data(config: TrainConfig) -> TaskData:
    # The data loader's own tasks are finer (qa, style...); all of them train as generation.
    task = config.task if config.task == "classification" else None
    spec = DataSpec(config.data, config.eval_data, task, config.columns, config.eval_fraction, config.seed)
    return load_task_data(spec)


def tokenizer_fingerprint(tokenizer_path: Path) -> str:
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        path = tokenizer_path / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(task: str, data: TaskData, tokenizer_path: Path, max_length: int) -> str:
    digest = hashlib.sha256()
    header = {"format": CACHE_FORMAT, "task": task, "max_length": max_length}
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(tokenizer_fingerprint(tokenizer_path).encode())
    for part in (data.train.records, data.eval.records):
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def encode(
    config: TrainConfig, data: TaskData, tokenizer: Any, tokenizer_path: Path, model_limit: int | None
) -> Examples:
    """Token ids for train and eval, from the cache when the same data was tokenised before."""
    task = training_task(config, data)
    max_length = config.max_length or min(model_limit or LONGEST_DEFAULT, LONGEST_DEFAULT)
    label2id = label_ids(data.train.labels() or []) if task == "classification" else None
    key = cache_key(task, data, tokenizer_path, max_length)
    path = cache_dir() / "tokenized" / f"{key}.json"
    cached = _read_cache(path)
    if cached is not None:
        train, evaluation = cached["train"], cached["eval"]
    else:
        train, evaluation = (
            _encode_split(task, data.train, tokenizer, label2id, max_length),
            _encode_split(task, data.eval, tokenizer, label2id, max_length),
        )
        atomic_write_json(path, {"train": train, "eval": evaluation})
    if not train:
        raise DataError(f"{data.dataset.source}: no training examples left after the split")
    truncated = sum(len(e["input_ids"]) >= max_length for e in train)
    if task == "generation":
        empty = sum(all(label == -100 for label in e["labels"]) for e in train)
        if empty == len(train):
            raise DataError(f"max_length: {max_length} tokens leave no room for any answer; raise max_length")
    warnings = list(data.warnings)
    if truncated and config.max_length is not None:
        warnings.append(f"{truncated} of {len(train)} training examples are cut at max_length {max_length}")
    longest = max(len(e["input_ids"]) for e in train)
    effective = max_length if config.max_length is not None else longest
    return Examples(task, data, train, evaluation, label2id, effective, truncated, cached is not None, warnings)


def _encode_split(
    task: str, dataset: Dataset, tokenizer: Any, label2id: dict[str, int] | None, max_length: int
) -> list[dict[str, Any]]:
    if not dataset.records:
        return []
    if task == "classification":
        assert label2id is not None
        encoded = encode_classification(dataset, tokenizer, label2id, max_length)
    else:
        encoded = encode_generation(dataset, tokenizer, max_length)
    return [e.to_dict() for e in encoded]


def _read_cache(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged cache entry is simply rebuilt
    if not isinstance(cached, dict) or "train" not in cached or "eval" not in cached:
        return None
    return cached
