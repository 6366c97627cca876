"""Split documents into overlapping windows of tokens, cut at token boundaries of the
embedding model's own tokenizer so that no chunk is truncated when it is embedded.

Defaults: 200 tokens per chunk with 40 tokens of overlap. MiniLM reads at most 256 word
pieces, so a 200-token chunk plus its special tokens always fits; the 20% overlap keeps a
sentence cut at one boundary whole in the neighbouring chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tunewise.errors import ConfigError

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP = 40
TOKENIZE_BATCH = 1024


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int  # position of the chunk within its document
    start: int  # character offsets in the document
    end: int


def check_chunking(chunk_tokens: int, overlap: int, max_tokens: int) -> None:
    if chunk_tokens < 8:
        raise ConfigError(f"--chunk-tokens must be at least 8, got {chunk_tokens}")
    if not 0 <= overlap < chunk_tokens:
        raise ConfigError(f"--chunk-overlap must be between 0 and --chunk-tokens - 1, got {overlap}")
    if chunk_tokens > max_tokens - 2:
        raise ConfigError(
            f"--chunk-tokens {chunk_tokens} is more than the embedding model reads ({max_tokens} tokens with 2 special); "
            f"use at most {max_tokens - 2}"
        )


def chunk_documents(
    texts: list[str], tokenizer: Any, chunk_tokens: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_OVERLAP
) -> Iterator[list[Chunk]]:
    """The chunks of each text, in order; texts are tokenized in batches (the fast tokenizer
    runs a batch in parallel, which is much faster than one call per document)."""
    for first in range(0, len(texts), TOKENIZE_BATCH):
        batch = texts[first : first + TOKENIZE_BATCH]
        encodings = tokenizer(
            batch, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
        )
        for text, offsets in zip(batch, encodings["offset_mapping"], strict=True):
            yield list(_windows(text, offsets, chunk_tokens, overlap))


def _windows(text: str, offsets: list[tuple[int, int]], chunk_tokens: int, overlap: int) -> Iterator[Chunk]:
    if len(offsets) <= chunk_tokens:
        if text.strip():
            yield Chunk(text.strip(), 0, 0, len(text))
        return
    step = chunk_tokens - overlap
    starts = range(0, max(len(offsets) - overlap, 1), step)
    for index, first in enumerate(starts):
        window = offsets[first : first + chunk_tokens]
        start, end = window[0][0], window[-1][1]
        yield Chunk(text[start:end].strip(), index, start, end)
