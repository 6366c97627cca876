"""The user's documents as passages, searchable three ways: dense (sentence embeddings in FAISS),
lexical (BM25) and hybrid (the two rankings fused).

Hybrid uses reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): each passage
scores the sum of 1 / (60 + rank) over the rankings that hold it. Ranks, not scores, are fused,
because cosine similarities and BM25 scores are on scales that do not compare, and 60 is the
constant of the paper, which damps the head of each ranking without tuning.

Which of the three a comparison uses is chosen on the validation questions (`rag.documents`),
never fixed here: lexical wins on identifiers, dense on paraphrase, and which a collection needs
is a property of the collection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rag.chunking import check_chunking, chunk_documents
from rag.embed import Embedder
from rag.index import vector_search
from rag.knn import Search
from rag.lexical import LexicalIndex
from tunewise.data.shapes import Dataset

RetrieverKind = Literal["dense", "lexical", "hybrid"]
RETRIEVERS: tuple[RetrieverKind, ...] = ("dense", "lexical", "hybrid")
RRF_CONSTANT = 60
FUSION_DEPTH = 50  # how deep each ranking is read before fusing: well past any k a prompt can hold


@dataclass(frozen=True)
class Passage:
    id: str  # DOC#N: the document's id and the chunk's place in it
    doc: str
    text: str


@dataclass
class Passages:
    """Chunked documents with a dense and a lexical index over the same passages, in one order."""

    embedder: Embedder
    chunk_tokens: int
    overlap: int
    passages: list[Passage] = field(default_factory=list)
    seconds: float = 0.0  # chunking, embedding and indexing, every addition included
    _vectors: list[np.ndarray] = field(default_factory=list, repr=False)
    _dense: Search | None = field(default=None, repr=False)
    _lexical: LexicalIndex | None = field(default=None, repr=False)

    @classmethod
    def of(cls, documents: Dataset, embedder: Embedder, chunk_tokens: int, overlap: int) -> Passages:
        check_chunking(chunk_tokens, overlap, embedder.info.max_tokens)
        passages = cls(embedder, chunk_tokens, overlap)
        passages.add(documents)
        return passages

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def vector_bytes(self) -> float:
        return float(sum(v.nbytes for v in self._vectors))

    def add(self, documents: Dataset) -> float:
        """Chunk, embed and index `documents` beside what is held; the seconds it took."""
        started = time.perf_counter()
        texts = [str(record["text"]) for record in documents.records]
        new: list[Passage] = []
        pieces = chunk_documents(texts, self.embedder.tokenizer, self.chunk_tokens, self.overlap)
        for position, (record, chunks) in enumerate(zip(documents.records, pieces, strict=True)):
            doc = str(record.get("id") or documents.where(position))
            new.extend(Passage(f"{doc}#{chunk.index}", doc, chunk.text) for chunk in chunks)
        if new:
            self._vectors.append(self.embedder.encode([p.text for p in new]))
            self.passages.extend(new)
            # An exact index is rebuilt whole (a flat FAISS add would do, but HNSW beyond FLAT_MAX
            # is chosen by size): at the sizes a comparison embeds, the rebuild is milliseconds.
            self._dense = vector_search(np.concatenate(self._vectors))
            if self._lexical is None:
                self._lexical = LexicalIndex([p.text for p in new])
            else:
                self._lexical.add([p.text for p in new])
        spent = time.perf_counter() - started
        self.seconds += spent
        return spent

    def search(self, questions: Sequence[str], k: int, kind: RetrieverKind) -> list[list[Passage]]:
        """The `k` best passages for each question, best first (fewer where a ranking runs out)."""
        return [[self.passages[i] for i in row] for row in self.rank(questions, k, kind)]

    def rank(self, questions: Sequence[str], k: int, kind: RetrieverKind) -> list[list[int]]:
        if not questions or not self.passages:
            return [[] for _ in questions]
        k = min(k, len(self.passages))
        if kind == "dense":
            return _kept(self._search_dense(questions, k))
        if kind == "lexical":
            return _kept(self._search_lexical(questions, k))
        depth = min(max(FUSION_DEPTH, k), len(self.passages))
        dense = _kept(self._search_dense(questions, depth))
        lexical = _kept(self._search_lexical(questions, depth))
        return [fuse([a, b])[:k] for a, b in zip(dense, lexical, strict=True)]

    def _search_dense(self, questions: Sequence[str], k: int) -> np.ndarray:
        assert self._dense is not None
        _, positions = self._dense(self.embedder.encode(list(questions)), k)
        return positions

    def _search_lexical(self, questions: Sequence[str], k: int) -> np.ndarray:
        assert self._lexical is not None
        _, positions = self._lexical.search(list(questions), k)
        return positions

    def describe(self) -> dict[str, Any]:
        return {
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.overlap,
            "passages": len(self.passages),
            "embedding_model": self.embedder.info.model,
        }


def fuse(rankings: Sequence[Sequence[int]], constant: int = RRF_CONSTANT) -> list[int]:
    """Reciprocal rank fusion of several rankings of the same items, best first; ties keep the
    order in which items were first met (the first ranking's, then the next)."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            score[item] = score.get(item, 0.0) + 1.0 / (constant + rank)
    return sorted(score, key=lambda item: -score[item])


def _kept(positions: np.ndarray) -> list[list[int]]:
    return [[int(i) for i in row if i >= 0] for row in positions.tolist()]
