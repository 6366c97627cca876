"""The head arm against the k-NN retrieval arm on one frozen split, from the same embeddings.

Both arms read the same MiniLM vectors of the same examples: the k-NN vote (k tuned leave-one-out
on the training part, as `tunewise rag build` does) and a logistic-regression head (C chosen on
the validation slice). Both are scored once on the test set; the script prints accuracy with a
95% bootstrap interval, the exact McNemar p-value between the two, and each arm's seconds beyond
the shared embedding, with the ratio.

    python benchmarks/bench_head.py                      # BANKING77 from ../shared (about 3 minutes)
    python benchmarks/bench_head.py --data demo          # the built-in demo when ../shared is absent
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:

    from compare.judge.statistics import bootstrap_interval, mcnemar_exact
    from rag.embed import Embedder
    from rag.head import fit_head_on_vectors
    from rag.index import vector_search
    from rag.knn import tune_k, vote_each
    from tunewise.data.protocol import freeze_split
    from tunewise.data.task import DataSpec, load_task_data
    from tunewise.metrics import classification_metrics

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "banking77"))
    args = parser.parse_args()
    root = Path(args.data)
    spec = (
        DataSpec(path=str(root / "train.csv"), eval_path=str(root / "test.csv"))
        if (root / "train.csv").is_file()
        else DataSpec(path=args.data)
    )
    split = freeze_split(load_task_data(spec))
    print(
        f"data {spec.path}: train {len(split.train):,}, validation {len(split.validation):,}, test {len(split.test):,}"
    )

    embedder = Embedder()
    started = time.perf_counter()
    texts = {name: [str(r["text"]) for r in part.records] for name, part in split.parts().items()}
    vectors = {name: embedder.encode(part) for name, part in texts.items()}
    embed_seconds = time.perf_counter() - started
    gold = [str(r["label"]) for r in split.test.records]
    train_labels = [str(r["label"]) for r in split.train.records]

    started = time.perf_counter()
    search = vector_search(vectors["train"])
    k, _ = tune_k(vectors["train"], train_labels, search)
    knn = vote_each(*search(vectors["test"], k), train_labels)
    knn_seconds = time.perf_counter() - started

    started = time.perf_counter()
    validation_labels = [str(r["label"]) for r in split.validation.records]
    head = fit_head_on_vectors(vectors["train"], train_labels, vectors["validation"], validation_labels)
    head_predictions = head.predict(vectors["test"])
    head_seconds = time.perf_counter() - started

    def accuracy(g: list[str], p: list[str]) -> float:
        return classification_metrics(g, p)["accuracy"]

    for name, predicted, seconds in (("rag (k-NN)", knn, knn_seconds), ("head", head_predictions, head_seconds)):
        interval = bootstrap_interval(gold, predicted, accuracy, resamples=1000)
        metrics = classification_metrics(gold, predicted)
        print(
            f"{name:<11} accuracy {metrics['accuracy']:.3f} [{interval.low:.3f}, {interval.high:.3f}]  "
            f"macro-F1 {metrics['macro_f1']:.3f}  {seconds:.1f} s beyond embedding"
        )
    p = mcnemar_exact(
        [a == g for a, g in zip(head_predictions, gold, strict=True)], [a == g for a, g in zip(knn, gold, strict=True)]
    )
    print(f"k={k}, C={head.c:g}; McNemar exact p = {p:.2g}; shared embedding {embed_seconds:.1f} s")
    print(f"head / rag set-up time: {head_seconds / max(knn_seconds, 1e-9):.1f}x")


if __name__ == "__main__":
    main()
