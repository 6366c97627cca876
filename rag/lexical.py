"""Lexical retrieval: BM25 over the same passages the dense index holds (the `bm25s` library).

Dense retrieval matches meaning and misses identifiers: a product code, an abbreviation or a
name is split by the embedding model's tokenizer into pieces that say little, while BM25 matches
the word itself. Words are lower-cased and English stop words dropped; no stemming, so that an
identifier is matched as written.

bm25s keeps its scores in a sparse matrix that cannot grow, so adding passages indexes them all
again: a second at tens of thousands of passages, timed with every other addition.
"""

from __future__ import annotations

import numpy as np

STOPWORDS = "en"


class LexicalIndex:
    """BM25 over a list of passages; `search` answers like a FAISS search, best first."""

    def __init__(self, texts: list[str]) -> None:
        self.texts: list[str] = []
        self._index = None
        self.add(texts)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, texts: list[str]) -> None:
        import bm25s

        self.texts = [*self.texts, *texts]
        index = bm25s.BM25()
        index.index(bm25s.tokenize(self.texts, stopwords=STOPWORDS, show_progress=False), show_progress=False)
        self._index = index

    def search(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the `k` best passages for each query; a passage that shares no
        word with the query is not found: its place holds -1, as FAISS marks a place it cannot fill."""
        import bm25s

        k = min(k, len(self.texts))
        if not queries or k == 0 or self._index is None:
            return np.zeros((len(queries), k), dtype=np.float32), np.full((len(queries), k), -1, dtype=np.int64)
        tokens = bm25s.tokenize(queries, stopwords=STOPWORDS, show_progress=False, return_ids=False)
        positions = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.zeros((len(queries), k), dtype=np.float32)
        asked = [row for row, words in enumerate(tokens) if words]
        if asked:
            found, found_scores = self._index.retrieve(
                [tokens[row] for row in asked], k=k, show_progress=False, n_threads=1
            )
            positions[asked] = found
            scores[asked] = found_scores
        positions[scores <= 0] = -1  # bm25s fills k places even with passages that share no word
        return scores, positions
