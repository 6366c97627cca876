"""Token lengths under a model's own tokenizer, without importing transformers when avoidable.

Most models ship a `tokenizer.json`, which the Rust `tokenizers` library loads in
milliseconds and encodes in parallel; only models without one fall back to transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunewise.model_files import check_no_custom_code, load_errors
from tunewise.models import tokenizer_folder
from tunewise.trust import trust_remote_code

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class TokenStats:
    """Token-length percentiles of a list of texts."""

    model: str
    p50: int
    p90: int
    p95: int
    p99: int
    max: int
    mean: float
    model_max_length: int | None  # what the model can read at most
    n_over_limit: int  # texts longer than that

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def model_max_length(folder: Path) -> int | None:
    """The longest input the model accepts, from its tokenizer and model configs."""
    limits: list[int] = []
    for name, key in (("tokenizer_config.json", "model_max_length"), ("config.json", "max_position_embeddings")):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        # Tokenizers without a limit store a huge sentinel (1e30); ignore it.
        if isinstance(value, int | float) and 0 < value < 1_000_000:
            limits.append(int(value))
    return min(limits) if limits else None


def count_tokens(texts: list[str], folder: Path) -> list[int]:
    """The number of tokens (special tokens included) of each text."""
    # Refused even when tokenizer.json would do: a folder asking for its own tokenizer code may count differently.
    check_no_custom_code(folder)
    tokenizer_file = folder / "tokenizer.json"
    if tokenizer_file.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=True)]
    from transformers import AutoTokenizer

    with load_errors(folder):
        slow = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code())
    return [len(ids) for ids in slow(texts, add_special_tokens=True, truncation=False)["input_ids"]]


def token_stats(texts: list[str], model: str) -> TokenStats:
    """Percentiles of the token lengths of `texts` under `model`'s tokenizer."""
    folder = tokenizer_folder(model)
    lengths = np.asarray(count_tokens(texts, folder) if texts else [0])
    limit = model_max_length(folder)
    p50, p90, p95, p99 = (int(np.ceil(np.percentile(lengths, q))) for q in PERCENTILES)
    over = int((lengths > limit).sum()) if limit else 0
    return TokenStats(model, p50, p90, p95, p99, int(lengths.max()), round(float(lengths.mean()), 1), limit, over)
