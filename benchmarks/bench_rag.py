"""The retrieval arm's figures, each against a baseline measured in the same run.

    python benchmarks/bench_rag.py [--skip-latency] [--json OUT]

1. Build throughput: `build_index` (load, streamed embedding, FAISS, atomic write) against
   loading a `SentenceTransformer` and calling `encode` on the same texts; recall@10 agreement of the index's
   neighbours with those of the fp32 reference embeddings. Also dynamic int8 quantization of
   the same model, to show what a faster path would cost in agreement.
2. BANKING77: k-NN classification accuracy on the test split (k tuned on train).
3. Vaswani/NPL: nDCG@10 and recall@100 for the 93 queries.
4. Query latency p50/p99 of one query at 10k, 100k and 1M random unit vectors, exact and HNSW,
   and the peak memory of building the BANKING77 index.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"


def agreement_at_10(reference: np.ndarray, candidate: np.ndarray, queries: int = 500) -> float:
    """Mean overlap of the top-10 neighbour sets (self excluded) under both embeddings."""
    n = min(queries, len(reference))
    total = 0.0
    for i in range(n):
        ref = np.argsort(-(reference @ reference[i]))[1:11]
        cand = np.argsort(-(candidate @ candidate[i]))[1:11]
        total += len(set(ref) & set(cand)) / 10
    return total / n


def build_throughput(texts: list[str]) -> dict[str, float]:
    import torch
    from sentence_transformers import SentenceTransformer

    from rag.index import build_index, stored_vectors
    from tunewise.data.raw import RawTable
    from tunewise.data.shapes import Dataset, Shape
    from tunewise.models import resolve_model

    path = str(resolve_model("minilm-l6").path)
    SentenceTransformer(path, device="cpu").encode(texts[:64])  # warm the disk cache for both
    # Both sides start from nothing: load the model, then embed (and, for tunewise, index and write).
    start = time.perf_counter()
    reference_model = SentenceTransformer(path, device="cpu")
    reference = reference_model.encode(texts, batch_size=64, normalize_embeddings=True)
    st_seconds = time.perf_counter() - start

    table = RawTable(
        "bench",
        ["text", "label"],
        [{"text": t, "label": str(i % 2)} for i, t in enumerate(texts)],
        list(range(1, len(texts) + 1)),
        "row",
    )
    dataset = Dataset(
        "bench", Shape.DOCUMENTS, {"text": "text"}, [{"text": t} for t in texts], table, list(range(len(texts)))
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        built = build_index(dataset, Path(tmp) / "index")
        tw_seconds = time.perf_counter() - start
        # The index stores texts longest first; put its vectors back in the texts' order.
        order = np.argsort([int(r["doc"].rsplit(" ", 1)[-1]) for r in built.records])
        ours = stored_vectors(built.index)[order]

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates this API; it is measured here, not used
        start = time.perf_counter()
        quantized = torch.ao.quantization.quantize_dynamic(
            SentenceTransformer(path, device="cpu"), {torch.nn.Linear}, dtype=torch.qint8
        )
        int8 = quantized.encode(texts, batch_size=64, normalize_embeddings=True)
        int8_seconds = time.perf_counter() - start
    return {
        "texts": len(texts),
        "st_encode_texts_per_s": len(texts) / st_seconds,
        "tunewise_build_texts_per_s": len(texts) / tw_seconds,
        "build_over_encode": st_seconds / tw_seconds,
        "agreement_at_10": agreement_at_10(reference, ours),
        "int8_over_encode": st_seconds / int8_seconds,
        "int8_agreement_at_10": agreement_at_10(reference, int8),
    }


def banking77() -> dict[str, float]:
    from rag.evaluate import evaluate_classification
    from rag.index import build_index
    from tunewise.data.task import DataSpec, load_task_data

    data = load_task_data(
        DataSpec(str(SHARED / "banking77" / "train.csv"), eval_path=str(SHARED / "banking77" / "test.csv"))
    )
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(data.train, Path(tmp) / "b77")
        result = evaluate_classification(index, data.eval)
        knn = index.manifest["knn"]
    return {"k": knn["k"], "leave_one_out": knn["leave_one_out_accuracy"][str(knn["k"])], **result.metrics}


def vaswani() -> dict[str, float]:
    from rag.evaluate import evaluate_retrieval
    from rag.index import build_index
    from tunewise.data.shapes import to_dataset
    from tunewise.data.task import open_table
    from tunewise.data.trec import read_qrels, read_trec_topics

    folder = SHARED / "vaswani_npl"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index = build_index(to_dataset(open_table(str(folder / "corpus" / "doc-text.trec"))), Path(tmp) / "npl")
        build_seconds = time.perf_counter() - start
        result = evaluate_retrieval(index, read_trec_topics(folder / "query-text.trec"), read_qrels(folder / "qrels"))
    return {"queries": len(result.eval_ids), "chunks": index.size, "build_seconds": build_seconds, **result.metrics}


def latency(sizes: tuple[int, ...], hnsw_max: int, dim: int = 384, queries: int = 200) -> list[dict[str, Any]]:
    from rag.index import new_faiss_index

    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        vectors = rng.standard_normal((size, dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # Probes near stored vectors (noise of norm ~0.2), so that the true neighbours are
        # well defined: with pure random queries every similarity is ~0 and "recall" is noise.
        planted = rng.integers(0, size, queries)
        probes = vectors[planted] + 0.01 * rng.standard_normal((queries, dim), dtype=np.float32)
        for kind in ("flat", "hnsw") if size <= hnsw_max else ("flat",):
            index, _ = new_faiss_index(kind, dim, size)
            start = time.perf_counter()
            index.add(vectors)
            build = time.perf_counter() - start
            timings = []
            for probe in probes:
                t = time.perf_counter()
                index.search(probe[None, :], 10)
                timings.append((time.perf_counter() - t) * 1000)
            # Random vectors have no real neighbours besides the planted one: the quality
            # measure is whether the search finds it.
            _, found = index.search(probes, 10)
            found_planted = float(np.mean([p in row for p, row in zip(planted, found, strict=True)]))
            rows.append(
                {
                    "vectors": size,
                    "index": kind,
                    "build_seconds": round(build, 2),
                    "p50_ms": round(float(np.percentile(timings, 50)), 3),
                    "p99_ms": round(float(np.percentile(timings, 99)), 3),
                    "finds_planted_neighbour": found_planted,
                }
            )
            print(
                f"  {size:>9,} {kind:5} build {build:7.1f} s  p50 {rows[-1]['p50_ms']:8.3f} ms  p99 {rows[-1]['p99_ms']:8.3f} ms  finds planted {rows[-1]['finds_planted_neighbour']:.3f}",
                flush=True,
            )
            del index
    return rows


def build_peak_memory() -> dict[str, float]:
    """Peak RSS of `tunewise rag build` on BANKING77 train, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import resource, sys; from tui.cli import main; "
            f"main(['rag', 'build', {str(SHARED / 'banking77' / 'train.csv')!r}, '--out', {tmp + '/i'!r}]); "
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    peak_kb = int(out.split("PEAK")[-1].split()[0])
    baseline = subprocess.run(
        [sys.executable, "-c", "import resource, torch, sentence_transformers, faiss; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {"build_peak_rss_gb": peak_kb * 1024 / 1e9, "imports_only_rss_gb": int(baseline.split()[-1]) * 1024 / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--only", choices=("throughput", "latency"), help="run one part only")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="vector counts for the latency part")
    parser.add_argument(
        "--hnsw-max",
        type=int,
        default=100_000,
        help="largest size to build HNSW for (1M takes about 20 minutes on 2 cores; default 100,000)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"needs {SHARED} (the shared data sets)")
    import csv

    with open(SHARED / "banking77" / "train.csv", newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    report: dict[str, object] = {}
    parts = {
        "throughput": ("1. build throughput (banking77 train texts)", lambda: build_throughput(texts)),
        "banking77": ("2. banking77 k-NN", banking77),
        "vaswani": ("3. vaswani/npl retrieval", vaswani),
        "memory": ("4. build peak memory", build_peak_memory),
    }
    for name, (title, run) in parts.items():
        if args.only in (None, name):
            print(title, flush=True)
            report[name] = run()
            print("  ", json.dumps(report[name]), flush=True)
    if not args.skip_latency and args.only in (None, "latency"):
        print("5. query latency, one query at a time, k=10", flush=True)
        sizes = tuple(int(n) for n in args.sizes.split(","))
        report["latency"] = latency(sizes, args.hnsw_max)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
