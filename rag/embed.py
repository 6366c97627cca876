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

from tunewise.errors import ModelError
from tunewise.model_files import check_loadable, load_errors
from tunewise.models import resolve_model
from tunewise.names import DEFAULT_EMBEDDER
from tunewise.trust import trust_remote_code

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
        from tunewise.inference import pick_device

        target = pick_device(device)
        resolved = resolve_model(model, prepare=True)
        check_loadable(resolved.path)  # before sentence-transformers' seconds of imports
        if resolved.kind == "causal-lm":
            raise ModelError(f"'{model}' is a causal LM, not a sentence-embedding model; use e.g. minilm-l6")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        self.name = model
        self.batch_size = batch_size
        with load_errors(resolved.path):
            self._model: Any = SentenceTransformer(
                str(resolved.path), device=str(target), trust_remote_code=trust_remote_code()
            )
        # sentence-transformers 6 renamed the method; older releases only have the old name.
        size_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = size_of()
        if not dim:
            raise ModelError(f"'{model}' does not say its embedding size; is it a sentence-transformers model?")
        self.info = EmbedderInfo(model, int(dim), int(self._model.max_seq_length or 512))
        self._fast = self._mean_pooling_only()

    @property
    def tokenizer(self) -> Any:
        return self._model.tokenizer

    def _mean_pooling_only(self) -> bool:
        """True for the usual Transformer -> mean Pooling (-> Normalize) stack, which `encode`
        runs directly; anything else goes through sentence-transformers' own `encode`."""
        from sentence_transformers.models import Normalize, Pooling, Transformer

        modules = list(self._model)
        if len(modules) not in (2, 3) or not isinstance(modules[0], Transformer) or not isinstance(modules[1], Pooling):
            return False
        if len(modules) == 3 and not isinstance(modules[2], Normalize):
            return False
        return getattr(modules[1], "pooling_mode", None) == "mean" or bool(
            getattr(modules[1], "pooling_mode_mean_tokens", False)
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        if self._fast:
            return self._encode_direct(texts)
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

    def _encode_direct(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, normalised embeddings, computed like sentence-transformers but faster:
        the whole slice is tokenized in one call (the fast tokenizer runs it in parallel) and
        batched by exact token count rather than by character length, so batches carry less
        padding. Measured identical to `SentenceTransformer.encode` within 1e-6."""
        import torch

        tokenizer = self._model.tokenizer
        encoded = tokenizer(texts, truncation=True, max_length=self.info.max_tokens, padding=False)
        lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(texts))
        order = np.argsort(-lengths, kind="stable")
        keys = list(encoded.keys())
        backbone = self._model[0].auto_model
        device = next(backbone.parameters()).device
        out = np.empty((len(texts), self.info.dim), dtype=np.float32)
        with torch.inference_mode():
            for first in range(0, len(texts), self.batch_size):
                rows = order[first : first + self.batch_size]
                batch = tokenizer.pad([{k: encoded[k][i] for k in keys} for i in rows], return_tensors="pt")
                batch = {k: v.to(device) for k, v in batch.items()}
                hidden = backbone(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[rows] = torch.nn.functional.normalize(pooled, dim=1).float().cpu().numpy()
        return out
