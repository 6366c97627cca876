"""`tunewise rag build|add|query|eval`: the retrieval arm."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tui.commands import numbers


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rag",
        help="build, query and evaluate a FAISS + sentence-transformers index",
        description="Build, extend, query and evaluate a retrieval index.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build",
        help="embed DATA into an index folder",
        description="Embed DATA into an index folder (replaced atomically).",
    )
    build.add_argument(
        "data", metavar="DATA", help="labelled examples, documents (a folder, .txt/.md, TREC), or question/answer pairs"
    )
    build.add_argument("--out", type=Path, required=True, metavar="DIR", help="the index folder to write")
    build.add_argument("--model", default="minilm-l6", help="embedding model (default: minilm-l6)")
    build.add_argument(
        "--index",
        dest="index_type",
        choices=("auto", "flat", "hnsw", "ivf"),
        default="auto",
        help="index type (default: auto: exact up to 100,000 vectors, HNSW beyond)",
    )
    build.add_argument(
        "--chunk-tokens", type=numbers.whole, default=200, help="tokens per document chunk (default: 200)"
    )
    build.add_argument(
        "--chunk-overlap", type=numbers.whole, default=40, help="tokens shared by neighbouring chunks (default: 40)"
    )
    build.add_argument("--batch-size", type=numbers.whole, default=64, help="texts per embedding batch (default: 64)")
    build.add_argument("--columns", metavar="MAP", help="column mapping, e.g. text=utterance,label=intent")
    build.set_defaults(run=run_build)

    add = actions.add_parser("add", help="add DATA to an existing index without rebuilding it")
    add.add_argument("index", type=Path, metavar="DIR")
    add.add_argument("data", metavar="DATA")
    add.add_argument("--columns", metavar="MAP")
    add.set_defaults(run=run_add)

    query = actions.add_parser("query", help="the nearest records to a text (and the k-NN label for a labelled index)")
    query.add_argument("index", type=Path, metavar="DIR")
    query.add_argument("text")
    query.add_argument("--k", type=numbers.whole, default=5, help="neighbours to return (default: 5)")
    query.add_argument("--model", help="refuse to run unless the index was built with this embedding model")
    query.add_argument("--json", action="store_true")
    query.set_defaults(run=run_query)

    evaluate = actions.add_parser(
        "eval",
        help="score the index on held-out data",
        description="Classification (accuracy, macro_f1), retrieval (recall@k, mrr, ndcg@10) or answers (exact_match, token_f1).",
    )
    evaluate.add_argument("index", type=Path, metavar="DIR")
    evaluate.add_argument("--data", metavar="EVAL", help="labelled examples, or question/answer pairs")
    evaluate.add_argument(
        "--queries", type=Path, metavar="FILE", help="TREC topics to rank documents for (with --qrels)"
    )
    evaluate.add_argument("--qrels", type=Path, metavar="FILE", help="TREC relevance judgments for --queries")
    evaluate.add_argument(
        "--mode", choices=("knn", "few-shot"), default="knn", help="for labelled indexes (default: knn)"
    )
    evaluate.add_argument(
        "--k", type=numbers.whole, help="neighbours (default: the k tuned at build time; 4 passages for answers)"
    )
    evaluate.add_argument(
        "--limit",
        type=numbers.whole,
        help="score only the first N eval examples (few-shot and answers are slow on a CPU)",
    )
    evaluate.add_argument("--columns", metavar="MAP")
    evaluate.add_argument(
        "--allow-overlap",
        action="store_true",
        help="score even when eval examples are copies of indexed ones (their scores are optimistic)",
    )
    evaluate.add_argument(
        "--out", type=Path, metavar="FILE", help="also write the full result (predictions included) as JSON"
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=run_eval)


def _dataset(path: str, columns: str | None) -> Any:
    from tunewise.data.shapes import parse_column_map, to_dataset
    from tunewise.data.task import open_table

    return to_dataset(open_table(path), parse_column_map(columns))


def _progress_bar() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def run_build(args: argparse.Namespace) -> int:
    from rag.index import BuildOptions, build_index
    from tunewise.registry import Recorder, data_hash

    dataset = _dataset(args.data, args.columns)
    options = BuildOptions(args.model, args.index_type, args.chunk_tokens, args.chunk_overlap, args.batch_size)
    settings = {"data": args.data, "columns": args.columns, **vars(options)}
    with (
        Recorder().recording(
            "index", str(args.data), settings, data_hash=data_hash(args.data), artifact=str(args.out)
        ) as record,
        _progress_bar() as bar,
    ):
        task = bar.add_task("loading the embedding model", total=1.0)
        index = build_index(
            dataset, args.out, options, progress=lambda stage, f: bar.update(task, description=stage, completed=f)
        )
        record["metrics"] = {"size": index.size, "build_seconds": index.manifest["build_seconds"]}
    m = index.manifest
    knn = (
        f", k-NN k={m['knn']['k']} (leave-one-out accuracy {m['knn']['leave_one_out_accuracy'][str(m['knn']['k'])]:.3f})"
        if m.get("knn")
        else ""
    )
    print(
        f"{args.out}: {index.size:,} vectors ({m['kind']}, {m['index']['type']}, {m['embedding']['model']}) in {m['build_seconds']:.1f} s{knn}"
    )
    return 0


def run_add(args: argparse.Namespace) -> int:
    from rag.index import add_to_index

    index = add_to_index(args.index, _dataset(args.data, args.columns))
    print(f"{args.index}: {index.size:,} vectors")
    return 0


def run_query(args: argparse.Namespace) -> int:
    from rag.index import check_k, embedder_for, load_index

    index = load_index(args.index, expect_model=args.model)
    check_k(args.k, index.size)  # before loading the embedding model
    vector = embedder_for(index).encode([args.text])
    scores, positions = index.search(vector, args.k)
    hits = [
        dict(index.records[p], score=round(float(s), 4)) for s, p in zip(scores[0], positions[0], strict=True) if p >= 0
    ]
    result: dict[str, Any] = {"query": args.text, "hits": hits}
    if index.kind == "labelled":
        from rag.knn import vote

        label, confidence = vote([h["label"] for h in hits], [h["score"] for h in hits])
        result |= {"label": label, "confidence": round(confidence, 3)}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    if "label" in result:
        print(f"label: {result['label']} (vote share {result['confidence']:.2f})")
    for rank, hit in enumerate(hits, start=1):
        extra = f" [{hit['label']}]" if "label" in hit else ""
        print(f"{rank:>2}. {hit['score']:.3f} {hit['id']}{extra}: {hit['text'][:160]}")
    return 0


def _check_overlap(index: Any, data: Any, args: argparse.Namespace) -> None:
    """Refuse to score eval examples the index holds exact copies of; warn, with counts, about near ones."""
    from rag.evaluate import overlap_message, overlap_with_index
    from tunewise.errors import DataError

    report = overlap_with_index(index, data, args.limit)
    if report.total == 0:
        return
    n_eval = min(len(data), args.limit or len(data))
    message = overlap_message(report, n_eval, index)
    if report.exact and not args.allow_overlap:
        raise DataError(
            f"--data {args.data}: {message}, so the scores would be optimistic; evaluate on held-out examples "
            "(build the index from a training split), or pass --allow-overlap to score anyway"
        )
    print(f"warning: {message}; their scores are optimistic", file=sys.stderr)


def run_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import evaluate_answers, evaluate_classification, evaluate_retrieval
    from rag.index import load_index
    from tunewise.errors import ConfigError

    if (args.queries is None) != (args.qrels is None):
        raise ConfigError("--queries and --qrels go together")
    if args.data is None and args.queries is None:
        raise ConfigError("give --data EVAL, or --queries FILE --qrels FILE")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    if args.k is not None and args.k < 1:
        raise ConfigError(f"--k must be at least 1, got {args.k}")
    if args.out is not None:  # before the slow part: a bad path must not cost an evaluation
        from tunewise.ownership import check_file_target
        from tunewise.results import RunResult

        inputs = [args.index, args.data, args.queries, args.qrels]
        check_file_target(args.out, flag="--out", what="a result", proves=RunResult.is_result_file, inputs=inputs)
    index = load_index(args.index)
    if args.queries is not None:
        from tunewise.data.trec import read_qrels, read_trec_topics

        result = evaluate_retrieval(
            index, read_trec_topics(args.queries), read_qrels(args.qrels), depth=max(args.k or 100, 10)
        )
    else:
        data = _dataset(args.data, args.columns)
        _check_overlap(index, data, args)
        if index.kind == "labelled":
            with _progress_bar() as bar:
                task = bar.add_task(args.mode, total=1.0)
                result = evaluate_classification(
                    index,
                    data,
                    mode=args.mode,
                    k=args.k,
                    limit=args.limit,
                    progress=lambda s, f: bar.update(task, completed=f),
                )
        else:
            with _progress_bar() as bar:
                task = bar.add_task("answering", total=1.0)
                result = evaluate_answers(
                    index, data, k=args.k or 4, limit=args.limit, progress=lambda s, f: bar.update(task, completed=f)
                )
    if args.out:
        result.save(args.out)
    metrics = {name: round(value, 4) for name, value in result.metrics.items()}
    report = {
        "metrics": metrics,
        "n": len(result.eval_ids),
        "config": result.config,
        "costs": result.costs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in metrics.items():
            print(f"{name:>12}: {value:.4f}")
        print(f"{'examples':>12}: {report['n']}")
    return 0
