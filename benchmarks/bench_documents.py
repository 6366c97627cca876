"""Retrieval over documents: build, latency and recall, each against a baseline in the same run.

    python benchmarks/bench_documents.py [--docs foldoc] [--json OUT]

On the built-in FOLDOC set (or any `--docs` folder with `--questions`):
1. Build: `rag.passages.Passages` (chunk, embed, FAISS and BM25) against loading nothing more
   than `SentenceTransformer.encode` of the same passages plus a flat FAISS index of them.
2. Query latency, one question at a time, p50/p95: dense, lexical and hybrid against
   `SentenceTransformer.encode` + flat FAISS search.
3. Recall@1/3/5 of a passage that holds the reference answer, for dense, lexical and hybrid, on
   the old questions and, after the new documents are added (timed), on the new ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _latencies(call: Any, questions: list[str]) -> dict[str, float]:
    seconds = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        seconds.append(time.perf_counter() - started)
    return {"p50_ms": 1000 * statistics.median(seconds), "p95_ms": 1000 * float(np.percentile(seconds, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default="foldoc")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import faiss
    from sentence_transformers import SentenceTransformer

    from rag.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP
    from rag.documents import recall_table
    from rag.embed import Embedder
    from rag.passages import RETRIEVERS, Passages
    from tunewise.data.demo import document_set
    from tunewise.data.documents import load_documents
    from tunewise.data.shapes import input_text, to_dataset
    from tunewise.data.task import open_table
    from tunewise.models import resolve_model

    files = document_set(args.docs)
    documents = load_documents(files.docs)
    questions = to_dataset(open_table(files.test))
    new_documents = load_documents(files.new_docs)
    new_questions = to_dataset(open_table(files.new_test))
    texts = [input_text(questions.shape, r) for r in questions.records]

    embedder = Embedder()
    embedder.encode(["warm"])
    started = time.perf_counter()
    passages = Passages.of(documents, embedder, DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP)
    ours = time.perf_counter() - started

    path = str(resolve_model("minilm-l6").path)
    model = SentenceTransformer(path, device="cpu")
    model.encode(["warm"])
    started = time.perf_counter()
    vectors = model.encode([p.text for p in passages.passages], batch_size=64, normalize_embeddings=True)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    baseline = time.perf_counter() - started
    figures: dict[str, Any] = {
        "documents": len(documents),
        "passages": len(passages),
        "build_seconds": ours,
        "baseline_build_seconds": baseline,
        "build_ratio": ours / baseline,
    }

    def reference(question: str) -> Any:
        return flat.search(model.encode([question], normalize_embeddings=True), 3)

    figures["latency"] = {"encode+flat": _latencies(reference, texts)}
    for kind in RETRIEVERS:
        figures["latency"][kind] = _latencies(lambda q, kind=kind: passages.search([q], 3, kind), texts)
    base = figures["latency"]["encode+flat"]["p50_ms"]
    for kind in RETRIEVERS:
        figures["latency"][kind]["ratio_p50"] = figures["latency"][kind]["p50_ms"] / base

    figures["recall_old"] = recall_table(passages, questions)
    figures["absorb_seconds"] = passages.add(new_documents)
    figures["new_documents"] = len(new_documents)
    figures["recall_new"] = recall_table(passages, new_questions)
    figures["recall_old_after"] = recall_table(passages, questions)

    print(f"{len(documents)} documents, {len(passages)} passages after the new {len(new_documents)}")
    print(f"build: {ours:.2f} s against {baseline:.2f} s for encode + flat FAISS ({ours / baseline:.2f}x)")
    for kind, row in figures["latency"].items():
        print(f"latency {kind}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms")
    print(f"absorbing {len(new_documents)} new documents: {figures['absorb_seconds']:.2f} s")
    for name in ("recall_old", "recall_new", "recall_old_after"):
        for kind, row in figures[name].items():
            print(f"{name} {kind}: " + ", ".join(f"@{k} {v:.3f}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
