"""Score an index on held-out data with the shared metric code (`tunewise.metrics`)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rag.index import RagIndex, check_k, embedder_for
from tunewise.data.dedup import LeakageReport, find_leakage
from tunewise.data.shapes import Dataset, Shape
from tunewise.errors import DataError
from tunewise.metrics import answer_metrics, classification_metrics, retrieval_metrics
from tunewise.names import Progress
from tunewise.paths import folder_size
from tunewise.results import RunResult


def rank_documents(index: RagIndex, vectors: np.ndarray, depth: int) -> list[list[tuple[str, float]]]:
    """Documents ranked by their best chunk, `depth` deep (chunks of one document collapse)."""
    fetch = min(index.size, depth * 4 if index.kind == "documents" else depth)
    scores, positions = index.search(vectors, fetch)
    rankings = []
    for row_scores, row_positions in zip(scores, positions, strict=True):
        seen: dict[str, float] = {}
        for score, position in zip(row_scores, row_positions, strict=True):
            if position < 0:
                continue
            record = index.records[position]
            doc = str(record.get("doc", record["id"]))
            if doc not in seen:
                seen[doc] = float(score)
        rankings.append(list(seen.items())[:depth])
    return rankings


def evaluate_classification(
    index: RagIndex, data: Dataset, *, mode: str = "knn", k: int | None = None, limit: int | None = None,
    progress: Progress | None = None,
) -> RunResult:  # fmt: skip
    """Accuracy and macro-F1 of the k-NN vote (or of few-shot prompting with retrieved examples)."""
    if index.kind != "labelled":
        raise DataError(f"{index.folder}: a {index.kind} index cannot classify; build it from labelled examples")
    if data.shape is not Shape.LABELLED:
        raise DataError(f"{data.source}: classification needs text and label columns")
    records = data.records[:limit] if limit else data.records
    k = k or int((index.manifest.get("knn") or {}).get("k", 5))
    check_k(k, index.size)
    started = time.perf_counter()
    embedder = embedder_for(index)
    vectors = embedder.encode([r["text"] for r in records])
    if mode == "knn":
        from rag.knn import predict

        predictions = [v.label for v in predict(index, vectors, k)]
    elif mode == "few-shot":
        from rag.generate import few_shot_label
        from tunewise.inference import LocalLM

        lm = LocalLM()
        _, positions = index.search(vectors, k)
        predictions = []
        for done, (record, row) in enumerate(zip(records, positions, strict=True), start=1):
            shots = [(index.records[p]["text"], index.records[p]["label"]) for p in row if p >= 0]
            predictions.append(few_shot_label(lm, record["text"], shots).label)
            if progress:
                progress("few-shot", done / len(records))
    else:
        raise DataError(f"--mode {mode}: use knn or few-shot for a labelled index")
    elapsed = time.perf_counter() - started
    gold = [r["label"] for r in records]
    return RunResult(
        arm="rag",
        config={"mode": mode, "k": k, "index": str(index.folder), "model": index.model},
        eval_ids=[data.where(i) for i in range(len(records))],
        predictions=predictions,
        metrics=classification_metrics(gold, predictions),
        costs={"seconds_per_example": elapsed / max(len(records), 1), "disk_bytes": folder_size(index.folder)},
    )


def evaluate_retrieval(
    index: RagIndex, queries: list[tuple[str, str]], judgments: dict[str, dict[str, float]], depth: int = 100
) -> RunResult:
    """recall@k, MRR and nDCG@10 of the ranked documents against relevance judgments."""
    judged = [(qid, text) for qid, text in queries if qid in judgments]
    if not judged:
        raise DataError("none of the queries has relevance judgments; check that the query ids match the qrels")
    started = time.perf_counter()
    embedder = embedder_for(index)
    vectors = embedder.encode([text for _, text in judged])
    depth = min(depth, index.size)
    rankings = rank_documents(index, vectors, depth)
    elapsed = time.perf_counter() - started
    runs = [[doc for doc, _ in ranking] for ranking in rankings]
    metrics = retrieval_metrics(
        runs, [judgments[qid] for qid, _ in judged], ks=tuple(k for k in (1, 5, 10, 100) if k <= depth) or (depth,)
    )
    return RunResult(
        arm="rag",
        config={"mode": "retrieval", "depth": depth, "index": str(index.folder), "model": index.model},
        eval_ids=[qid for qid, _ in judged],
        predictions=[run[:10] for run in runs],
        metrics=metrics,
        costs={"seconds_per_example": elapsed / len(judged), "disk_bytes": folder_size(index.folder)},
    )


def evaluate_answers(
    index: RagIndex, data: Dataset, *, k: int = 4, limit: int | None = None, progress: Progress | None = None
) -> RunResult:
    """Exact match and token F1 of answers generated from the retrieved passages."""
    from rag.generate import answer_with_sources
    from tunewise.inference import LocalLM

    if data.shape is not Shape.QA:
        raise DataError(f"{data.source}: answer evaluation needs question and answer columns")
    records = data.records[:limit] if limit else data.records
    check_k(k, index.size)
    started = time.perf_counter()
    embedder = embedder_for(index)
    lm = LocalLM()
    vectors = embedder.encode([r["question"] for r in records])
    _, positions = index.search(vectors, k)
    predictions: list[dict[str, Any]] = []
    for done, (record, row) in enumerate(zip(records, positions, strict=True), start=1):
        passages = [(index.records[p]["id"], _passage(index.records[p])) for p in row if p >= 0]
        answer = answer_with_sources(lm, record["question"], passages)
        predictions.append({"answer": answer.text, "sources": answer.sources})
        if progress:
            progress("answering", done / len(records))
    elapsed = time.perf_counter() - started
    gold = [r.get("answers") or [r["answer"]] for r in records]
    return RunResult(
        arm="rag",
        config={"mode": "qa", "k": k, "index": str(index.folder), "model": index.model, "generator": lm.name},
        eval_ids=[data.where(i) for i in range(len(records))],
        predictions=predictions,
        metrics=answer_metrics([p["answer"] for p in predictions], gold),
        costs={"seconds_per_example": elapsed / max(len(records), 1), "disk_bytes": folder_size(index.folder)},
    )


def _passage(record: dict[str, Any]) -> str:
    if "answer" in record and record.get("answer"):
        return f"Q: {record['text']}\nA: {record['answer']}"
    return str(record["text"])


def overlap_with_index(index: RagIndex, data: Dataset, limit: int | None = None) -> LeakageReport:
    """How many eval inputs the index already holds, exactly or nearly (after normalisation).

    An example inside the index finds itself as its nearest neighbour, so its score says nothing
    about new inputs: a labelled index evaluated on its own data scores near 1.0. Documents are
    chunks, not inputs, so a document index is never compared.
    """
    if index.kind == "documents":
        return LeakageReport()
    inputs = data.inputs()[:limit] if limit else data.inputs()
    return find_leakage([str(r["text"]) for r in index.records], inputs)


def overlap_message(report: LeakageReport, n_eval: int, index: RagIndex) -> str:
    """`412 of 421 eval examples are already in the index idx (400 exact copies, 12 near)`."""
    return (
        f"{report.total:,} of {n_eval:,} eval examples are already in the index {index.folder} "
        f"({report.exact:,} exact copies, {report.near:,} near)"
    )
