"""Sentence embeddings through the model resolver: batched, L2-normalised, streamed.

`Embedder.stream` encodes a corpus in slices of `slice_size` texts, so that memory holds one
slice of embeddings at a time however large the corpus; inside a slice, texts are sorted by
length so that batches carry little padding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.errors import ModelError
from advisor.models import resolve_model

DEFAULT_EMBEDDER = "minilm-l6"
DEFAULT_BATCH = 64
SLICE_SIZE = 4096  # texts per streamed slice: 4096 x 384 floats = 6 MB of embeddings


@dataclass(frozen=True)
class EmbedderInfo:
    model: str
    dim: int
    max_tokens: int
    normalised: bool = True


class Embedder:
    """A sentence-transformers model, loaded once, encoding to unit vectors (float32)."""

    def __init__(
        self, model: str = DEFAULT_EMBEDDER, *, batch_size: int = DEFAULT_BATCH, device: str | None = None
    ) -> None:
        import transformers
        from sentence_transformers import SentenceTransformer

        from harness.device import pick_device

        resolved = resolve_model(model, prepare=True)
        if resolved.kind == "causal-lm":
            raise ModelError(f"'{model}' is a causal LM, not a sentence-embedding model; use e.g. minilm-l6")
        transformers.utils.logging.disable_progress_bar()
        self.name = model
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(str(resolved.path), device=str(pick_device(device)))
        # sentence-transformers 6 renamed the method; older releases only have the old name.
        size_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = size_of()
        if not dim:
            raise ModelError(f"'{model}' does not say its embedding size; is it a sentence-transformers model?")
        self.info = EmbedderInfo(model, int(dim), int(self._model.max_seq_length or 512))

    @property
    def tokenizer(self) -> Any:
        return self._model.tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def stream(
        self, texts: Iterable[str], *, slice_size: int = SLICE_SIZE, progress: Callable[[int], None] | None = None
    ) -> Iterator[np.ndarray]:
        """Yield embeddings slice by slice, calling `progress(n_done)` after each."""
        batch: list[str] = []
        done = 0
        for text in texts:
            batch.append(text)
            if len(batch) == slice_size:
                yield self.encode(batch)
                done += len(batch)
                batch = []
                if progress:
                    progress(done)
        if batch:
            yield self.encode(batch)
            done += len(batch)
            if progress:
                progress(done)
