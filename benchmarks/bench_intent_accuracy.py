"""BANKING77 intent detection with minilm-l6: full fine-tuning and LoRA through `tunewise train`.

The best checkpoint is chosen on a validation split held out from the training file (10%),
never on the test set; the chosen model is then scored once on the 3,080 test questions with
the same metric code as the retrieval arm. The k-NN retrieval baseline on the same data gets
0.920-0.924 (benchmarks/bench_rag.py).

    python benchmarks/bench_intent_accuracy.py --method full   # about 25 minutes on 2 cores
    python benchmarks/bench_intent_accuracy.py --method lora
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETTINGS = {
    "full": {"method": "full", "learning_rate": 1e-4, "num_train_epochs": 5, "warmup_ratio": 0.06},
    "lora": {"method": "lora", "learning_rate": 1e-3, "num_train_epochs": 5, "warmup_ratio": 0.06, "lora_r": 32,
             "lora_alpha": 64},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", choices=sorted(SETTINGS), default="full")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "banking77")
    parser.add_argument("--out", type=Path, default=Path("/tmp/tunewise-bench/banking77"))
    parser.add_argument("--epochs", type=float, help="override the number of epochs")
    args = parser.parse_args()
    if not (args.data / "train.csv").is_file():
        sys.exit(f"needs {args.data}/train.csv and test.csv (BANKING77); pass --data")

    from harness.config import build_config
    from harness.predict import classify, load_trained
    from harness.train import train
    from tunewise.metrics import classification_metrics

    values = dict(SETTINGS[args.method])
    if args.epochs:
        values["num_train_epochs"] = args.epochs
    config = build_config(
        {
            "data": str(args.data / "train.csv"),
            "columns": {"text": "text", "label": "category"},
            "eval_fraction": 0.1,
            "per_device_train_batch_size": 16,
            "weight_decay": 0.01,
            "output_dir": str(args.out / args.method),
            **values,
        }
    )

    def progress(p: object) -> None:
        if getattr(p, "event", "") == "eval":
            print(f"  step {p.step}: validation accuracy {p.eval_metrics.get('eval_accuracy', 0):.4f}", flush=True)  # type: ignore[attr-defined]

    started = time.perf_counter()
    outcome = train(config, overwrite=True, on_progress=progress)
    seconds = time.perf_counter() - started
    with open(args.data / "test.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    trained = load_trained(outcome.run_dir)
    started_test = time.perf_counter()
    predicted = classify(trained, [r["text"] for r in rows], batch_size=64)
    test_seconds = time.perf_counter() - started_test
    scores = classification_metrics([r["category"] for r in rows], predicted)
    report = {
        "method": args.method,
        "settings": values,
        "validation": outcome.metrics["eval"],
        "history": [
            {"epoch": round(e.get("epoch", 0), 2), "accuracy": round(e.get("eval_accuracy", 0), 4)}
            for e in outcome.metrics["history"]
        ],
        "test_accuracy": scores["accuracy"],
        "test_macro_f1": scores["macro_f1"],
        "train_minutes": seconds / 60,
        "train_samples_per_second": outcome.metrics["train_samples_per_second"],
        "test_ms_per_example": 1000 * test_seconds / len(rows),
        "trainable_params": outcome.metrics["trainable_params"],
        "peak_rss_gib": outcome.metrics["peak_rss_bytes"] / 2**30,
        "model_mib": outcome.metrics["model_bytes"] / 2**20,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
