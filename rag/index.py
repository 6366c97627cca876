"""The index folder: a FAISS index of unit vectors, the texts and metadata, and a manifest.

    DIR/index.faiss     inner-product index (exact, HNSW or IVF)
    DIR/records.jsonl   one JSON object per vector: id, text, and label / doc / answer
    DIR/manifest.json   embedding model and dimension, normaliser, chunking, index type,
                        counts, file sizes and SHA-256 checksums, tunewise version

A build (or an addition) writes a complete new folder beside the old one and swaps it in
(`tunewise.atomic.atomic_folder`), so a crash leaves the previous index intact. Only an index
(a folder with this manifest) is ever replaced, never the folder that holds the data being
indexed, and a writer holds the index's lock, so two additions at once cannot lose one. Loading
checks the manifest's sizes and checksums, so a changed or truncated file is an error, never
silently wrong answers.

Index type, unless chosen: exact inner product (`flat`) up to `FLAT_MAX` vectors, HNSW beyond
(benchmarks/bench_rag.py measures the query latencies behind that threshold).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP, check_chunking, chunk_documents
from rag.embed import Embedder
from rag.knn import Search, tune_k
from tunewise import __version__
from tunewise.atomic import atomic_folder, recover, recover_if_idle
from tunewise.data.shapes import Dataset, Shape, target_text
from tunewise.errors import ConfigError, DataError
from tunewise.locks import writer_lock
from tunewise.names import DEFAULT_EMBEDDER, Progress
from tunewise.ownership import INDEX, check_target

IndexType = Literal["auto", "flat", "hnsw", "ivf"]
INDEX_FILE, RECORDS_FILE, MANIFEST_FILE = "index.faiss", "records.jsonl", "manifest.json"
FORMAT = 1
# Exact search costs ~17 ms a query at 100,000 vectors on 2 cores and grows linearly (~200 ms
# at 1M); HNSW answers in ~2 ms but approximately. Up to here exactness is worth the wait.
FLAT_MAX = 100_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128
IVF_NPROBE = 16


@dataclass
class BuildOptions:
    model: str = DEFAULT_EMBEDDER
    index_type: IndexType = "auto"
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    chunk_overlap: int = DEFAULT_OVERLAP
    batch_size: int = 64


@dataclass
class RagIndex:
    folder: Path
    manifest: dict[str, Any]
    index: Any  # faiss.Index
    records: list[dict[str, Any]] = field(repr=False)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def model(self) -> str:
        return str(self.manifest["embedding"]["model"])

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the k nearest records of each query vector."""
        check_k(k, self.size)
        return faiss_search(self.index)(vectors, k)


def faiss_search(index: Any) -> Search:
    """`index.search` for any array of query vectors (faiss wants them contiguous float32)."""

    def search(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, positions = index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return scores, positions

    return search


def vector_search(vectors: np.ndarray) -> Search:
    """Nearest-neighbour search over `vectors` in memory, in the index type a build would choose for them."""
    index, _ = new_faiss_index(choose_index_type("auto", len(vectors)), int(vectors.shape[1]), len(vectors))
    index.add(vectors)
    return faiss_search(index)


def check_k(k: int, size: int) -> None:
    if k < 1:
        raise ConfigError(f"--k must be at least 1, got {k}")
    if k > size:
        raise ConfigError(f"--k {k} is larger than the index ({size} vectors); use --k {size} or fewer")


# ---------------------------------------------------------------------------- records


def records_of(dataset: Dataset, embedder: Embedder, options: BuildOptions) -> tuple[str, Iterator[dict[str, Any]]]:
    """The kind of index a data set makes, and its records (documents are chunked)."""
    shape = dataset.shape
    if shape is Shape.LABELLED:
        return "labelled", (
            {"id": dataset.where(i), "text": r["text"], "label": r["label"]} for i, r in enumerate(dataset.records)
        )
    if shape is Shape.DOCUMENTS:
        check_chunking(options.chunk_tokens, options.chunk_overlap, embedder.info.max_tokens)

        def chunks() -> Iterator[dict[str, Any]]:
            texts = [record["text"] for record in dataset.records]
            pieces = chunk_documents(texts, embedder.tokenizer, options.chunk_tokens, options.chunk_overlap)
            for position, (record, doc_chunks) in enumerate(zip(dataset.records, pieces, strict=True)):
                doc = str(record.get("id") or dataset.where(position))
                for chunk in doc_chunks:
                    yield {"id": f"{doc}#{chunk.index}", "doc": doc, "chunk": chunk.index, "text": chunk.text}

        return "documents", chunks()
    if shape is Shape.QA:
        return "qa", (
            {"id": dataset.where(i), "text": r["question"], "answer": r["answer"], "context": r.get("context")}
            for i, r in enumerate(dataset.records)
        )
    if shape is Shape.PROMPT_COMPLETION:
        return "examples", (
            {"id": dataset.where(i), "text": r["prompt"], "answer": r["completion"]}
            for i, r in enumerate(dataset.records)
        )
    inputs = dataset.inputs()  # chats: the user turns, computed once
    return "examples", (
        {"id": dataset.where(i), "text": inputs[i], "answer": target_text(shape, r)}
        for i, r in enumerate(dataset.records)
    )


# ---------------------------------------------------------------------------- building


def choose_index_type(requested: IndexType, n_vectors: int) -> str:
    if requested != "auto":
        return requested
    return "flat" if n_vectors <= FLAT_MAX else "hnsw"


def new_faiss_index(kind: str, dim: int, n_vectors: int) -> tuple[Any, dict[str, Any]]:
    import faiss

    index: Any
    if kind == "flat":
        return faiss.IndexFlatIP(dim), {}
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index, {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    if kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(max(n_vectors, 1))), n_vectors // 39 or 1))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(IVF_NPROBE, nlist)
        return index, {"nlist": nlist, "nprobe": index.nprobe}
    raise ConfigError(f"--index: unknown index type '{kind}'; use auto, flat, hnsw or ivf")


def build_index(
    dataset: Dataset, out: Path, options: BuildOptions | None = None, progress: Progress | None = None
) -> RagIndex:
    """Embed `dataset` and write an index folder at `out` (replacing only an index there, atomically)."""
    options = options or BuildOptions()
    if options.index_type not in ("auto", "flat", "hnsw", "ivf"):
        raise ConfigError(f"--index: unknown index type '{options.index_type}'; use auto, flat, hnsw or ivf")
    if options.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {options.batch_size}")
    out = check_target(out, INDEX, flag="--out", inputs=[dataset.source])
    with writer_lock(out, "this index"):
        return _build_locked(dataset, out, options, progress)


def _build_locked(dataset: Dataset, out: Path, options: BuildOptions, progress: Progress | None) -> RagIndex:
    started = time.perf_counter()
    embedder = Embedder(options.model, batch_size=options.batch_size)
    kind, records_iter = records_of(dataset, embedder, options)
    # Texts only: small next to their embeddings. Longest first, as sentence-transformers
    # orders a single call, so that every slice batches texts of similar length.
    records = sorted(records_iter, key=lambda r: -len(r["text"]))
    if not records:
        raise DataError(f"{dataset.source}: nothing to index (every document is empty)")
    index_type = choose_index_type(options.index_type, len(records))
    index, params = new_faiss_index(index_type, embedder.info.dim, len(records))
    total = len(records)

    def report(done: int) -> None:
        if progress:
            progress("embedding", done / total)

    texts = (r["text"] for r in records)
    if index_type == "ivf":
        # IVF must learn its cells before vectors go in: train on the first slice.
        stream = embedder.stream(texts, progress=report)
        first = next(stream)
        index.train(first)
        index.add(first)
        for vectors in stream:
            index.add(vectors)
    else:
        for vectors in embedder.stream(texts, progress=report):
            index.add(vectors)
    knn = _tune_knn(index, records) if kind == "labelled" else None
    manifest = {
        "format": FORMAT,
        "tunewise_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kind": kind,
        "source": dataset.source,
        "columns": dataset.columns,
        "embedding": {
            "model": embedder.info.model,
            "dim": embedder.info.dim,
            "max_tokens": embedder.info.max_tokens,
            "normalised": "l2",
        },
        "chunking": {"chunk_tokens": options.chunk_tokens, "overlap": options.chunk_overlap}
        if kind == "documents"
        else None,
        "index": {"type": index_type, "metric": "inner_product", "params": params},
        "counts": {"vectors": int(index.ntotal), "sources": len(dataset)},
        "knn": knn,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    _write_folder(out, index, records, manifest)
    if progress:
        progress("written", 1.0)
    return load_index(out)


def stored_vectors(index: Any) -> np.ndarray:
    """Every vector back out of a flat, HNSW or IVF index, in insertion order."""
    if hasattr(index, "make_direct_map"):
        index.make_direct_map()
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)


def _tune_knn(index: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    k, accuracy = tune_k(stored_vectors(index), [r["label"] for r in records], faiss_search(index))
    return {"k": k, "leave_one_out_accuracy": {str(key): round(value, 4) for key, value in accuracy.items()}}


def _write_folder(out: Path, index: Any, records: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    import faiss

    with atomic_folder(out, INDEX) as tmp:
        faiss.write_index(index, str(tmp / INDEX_FILE))
        with open(tmp / RECORDS_FILE, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        manifest["files"] = {name: _file_facts(tmp / name) for name in (INDEX_FILE, RECORDS_FILE)}
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


# ---------------------------------------------------------------------------- loading


def load_index(folder: Path, *, expect_model: str | None = None) -> RagIndex:
    """Open an index folder, refusing anything that does not match its manifest."""
    import faiss

    manifest_path = folder / MANIFEST_FILE
    recover_if_idle(folder)  # an update that a crash cut short between its two renames
    if not folder.is_dir():
        raise DataError(f"{folder}: no such index folder; build one with `tunewise rag build DATA --out {folder}`")
    if not manifest_path.is_file():
        raise DataError(f"{folder}: not a tunewise index (no {MANIFEST_FILE}); build one with `tunewise rag build`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        dim = int(manifest["embedding"]["dim"])
        if not isinstance(files, dict) or manifest["kind"] not in _RECORD_FIELDS:
            raise ValueError("unexpected files or kind")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{manifest_path}: the manifest is damaged ({exc}); rebuild the index") from exc
    if manifest.get("format") != FORMAT:
        raise DataError(f"{manifest_path}: index format {manifest.get('format')} is not {FORMAT}; rebuild the index")
    for name in (INDEX_FILE, RECORDS_FILE):
        path = folder / name
        expected = files.get(name, {})
        if not path.is_file():
            raise DataError(f"{path}: missing from the index; rebuild the index")
        if path.stat().st_size != expected.get("bytes") or _file_facts(path)["sha256"] != expected.get("sha256"):
            raise DataError(f"{path}: does not match the manifest (changed or truncated); rebuild the index")
    if expect_model is not None and expect_model != manifest["embedding"]["model"]:
        raise ConfigError(
            f"{folder}: built with embedding model '{manifest['embedding']['model']}', not '{expect_model}'; "
            "query it with the same model or rebuild it"
        )
    try:
        index = faiss.read_index(str(folder / INDEX_FILE))
    except RuntimeError as exc:  # faiss reports a bad file as a C++ exception with a multi-line text
        raise DataError(f"{folder / INDEX_FILE}: not a readable FAISS index; rebuild the index") from exc
    if index.d != dim:
        raise DataError(f"{folder / INDEX_FILE}: {index.d}-dimensional vectors but the manifest says {dim}; rebuild")
    records = _read_records(folder / RECORDS_FILE, str(manifest.get("kind")))
    if len(records) != index.ntotal:
        raise DataError(f"{folder}: {len(records)} records for {index.ntotal} vectors; rebuild the index")
    return RagIndex(folder, manifest, index, records)


# What each kind of index needs in every record besides `id` and `text`.
_RECORD_FIELDS = {"labelled": ("label",), "documents": ("doc",), "qa": ("answer",), "examples": ("answer",)}


def _read_records(path: Path, kind: str) -> list[dict[str, Any]]:
    """The records file, line by line; a damaged line is named, never half-used."""
    needed = ("id", "text", *_RECORD_FIELDS.get(kind, ()))
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason}); rebuild the index") from exc
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{number}: not a JSON record ({exc}); rebuild the index") from exc
        if not isinstance(record, dict) or any(key not in record for key in needed):
            raise DataError(f"{path}:{number}: a {kind} record needs {', '.join(needed)}; rebuild the index")
        records.append(record)
    return records


def embedder_for(index: RagIndex, batch_size: int = 64) -> Embedder:
    """The embedding model the index was built with, checked against its dimension."""
    embedder = Embedder(index.model, batch_size=batch_size)
    if embedder.info.dim != index.manifest["embedding"]["dim"]:
        raise ConfigError(
            f"{index.folder}: built with {index.manifest['embedding']['dim']}-d vectors but '{index.model}' now gives "
            f"{embedder.info.dim}-d; rebuild the index"
        )
    return embedder


def add_to_index(folder: Path, dataset: Dataset, progress: Progress | None = None) -> RagIndex:
    """Embed `dataset` and add it to an existing index, without re-embedding what is there.

    The index stays locked from reading to writing, so a second addition at the same time is
    refused rather than silently lost.
    """
    with writer_lock(folder, "this index"):
        return _add_locked(folder, dataset, progress)


def _add_locked(folder: Path, dataset: Dataset, progress: Progress | None) -> RagIndex:
    import faiss

    recover(folder)
    current = load_index(folder)
    embedder = embedder_for(current)
    chunking = current.manifest.get("chunking") or {}
    options = BuildOptions(
        model=current.model,
        chunk_tokens=chunking.get("chunk_tokens", DEFAULT_CHUNK_TOKENS),
        chunk_overlap=chunking.get("overlap", DEFAULT_OVERLAP),
    )
    kind, records_iter = records_of(dataset, embedder, options)
    if kind != current.kind:
        raise DataError(f"{dataset.source}: {kind} data cannot join a {current.kind} index at {folder}")
    new_records = list(records_iter)
    if not new_records:
        raise DataError(f"{dataset.source}: nothing to add (every document is empty)")
    index = faiss.clone_index(current.index)
    for vectors in embedder.stream(r["text"] for r in new_records):
        index.add(vectors)
    if progress:
        progress("embedding", 1.0)
    manifest = dict(current.manifest)
    manifest["counts"] = {
        "vectors": int(index.ntotal),
        "sources": int(current.manifest["counts"]["sources"]) + len(dataset),
    }
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _write_folder(folder, index, current.records + new_records, manifest)
    return load_index(folder)
