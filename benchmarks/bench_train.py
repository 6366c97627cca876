"""Training throughput: tunewise against the guide's recipe, against a hand-written loop, and SmolLM2 by method.

    python benchmarks/bench_train.py --only guide    # the guide's Trainer recipe (padding="max_length") vs tunewise
    python benchmarks/bench_train.py --only loop     # a minimal PyTorch loop on the same batches vs tunewise
    python benchmarks/bench_train.py --only smollm2  # instruction tuning: tokens/s and peak memory, full/LoRA/QLoRA

Every comparison runs both sides in the same invocation, on the same model, data and epochs,
and prints the ratio; each side runs in its own process so that peak memory is its own.
The data is the built-in demo set (19 topics of questions), so anyone can rerun this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


DEMO = {"data": "demo"}


def _split(data: dict[str, Any]) -> tuple[list[str], list[str], list[str], list[str]]:
    from harness.config import build_config
    from harness.examples import load_examples_data

    split = load_examples_data(build_config(data))
    return split.train.inputs(), split.train.labels() or [], split.eval.inputs(), split.eval.labels() or []


def banking77_subset(folder: Path, out: Path, n_train: int, n_eval: int) -> dict[str, Any]:
    """The first rows of BANKING77's files (both are sorted by nothing in particular), as a data spec."""
    import csv

    for name, n in (("train.csv", n_train), ("test.csv", n_eval)):
        with open(folder / name, newline="", encoding="utf-8") as source, open(out / name, "w", newline="") as dest:
            rows = list(csv.reader(source))
            csv.writer(dest).writerows(rows[: n + 1])
    return {
        "data": str(out / "train.csv"),
        "eval_data": str(out / "test.csv"),
        "columns": {"text": "text", "label": "category"},
    }


# ---------------------------------------------------------------------------- sides (run in workers)


def side_guide(epochs: float, batch: int, lr: float, out: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The guide's section-3 recipe as written: pad every example to max_length, Trainer defaults."""
    import numpy as np
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments, set_seed

    from tunewise.metrics import accuracy
    from tunewise.models import resolve_model

    train_x, train_y, eval_x, eval_y = _split(data)
    names = sorted(set(train_y))
    ids = {n: i for i, n in enumerate(names)}
    path = resolve_model("minilm-l6").path
    tokenizer = AutoTokenizer.from_pretrained(path)

    def preprocess(example: dict[str, Any]) -> Any:
        return tokenizer(example["text"], truncation=True, padding="max_length")

    train = Dataset.from_dict({"text": train_x, "label": [ids[y] for y in train_y]}).map(preprocess, batched=True)
    evaluation = Dataset.from_dict({"text": eval_x, "label": [ids[y] for y in eval_y]}).map(preprocess, batched=True)
    set_seed(42)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(names))
    args = TrainingArguments(
        output_dir=str(out),
        eval_strategy="epoch",
        per_device_train_batch_size=batch,
        num_train_epochs=epochs,
        save_strategy="epoch",
        learning_rate=lr,
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=evaluation)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    predicted = np.asarray(trainer.predict(evaluation).predictions).argmax(-1)
    return {
        "seconds": seconds,
        "samples_per_second": len(train_x) * epochs / seconds,
        "accuracy": accuracy(eval_y, [names[i] for i in predicted]),
        "peak_rss": _peak_rss(),
    }


def side_tunewise(epochs: float, batch: int, lr: float, out: Path, data: dict[str, Any]) -> dict[str, Any]:
    from harness.config import build_config
    from harness.train import train

    config = build_config(
        {**data, "method": "full", "learning_rate": lr, "num_train_epochs": epochs,
         "per_device_train_batch_size": batch, "output_dir": str(out / "run")}
    )  # fmt: skip
    started = time.perf_counter()
    outcome = train(config, overwrite=True)
    seconds = float(outcome.metrics["train_seconds"])
    train_x = _split(data)[0]
    return {
        "seconds": seconds,
        "wall_with_setup": time.perf_counter() - started,
        "samples_per_second": len(train_x) * epochs / seconds,
        "accuracy": outcome.metrics["eval"]["accuracy"],
        "peak_rss": _peak_rss(),
    }


def side_loop(epochs: float, batch: int, lr: float, out: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The least a person would write: the same tokenisation, batches, optimizer and schedule, per-epoch eval."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, set_seed
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from harness.memory import limit_allocator_retention
    from tunewise.metrics import accuracy
    from tunewise.models import resolve_model

    limit_allocator_retention()
    train_x, train_y, eval_x, eval_y = _split(data)
    names = sorted(set(train_y))
    ids = {n: i for i, n in enumerate(names)}
    path = resolve_model("minilm-l6").path
    tokenizer = AutoTokenizer.from_pretrained(path)
    collate = DataCollatorWithPadding(tokenizer)
    train = [
        {"input_ids": e, "labels": ids[y]}
        for e, y in zip(tokenizer(train_x, truncation=True)["input_ids"], train_y, strict=True)
    ]
    evaluation = [{"input_ids": e} for e in tokenizer(eval_x, truncation=True)["input_ids"]]
    set_seed(42)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(names))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)
    steps = int(len(train) / batch * epochs + 0.999)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    generator = torch.Generator().manual_seed(42)
    started = time.perf_counter()
    predicted: list[str] = []
    for _ in range(max(int(epochs), 1)):
        model.train()
        sampler = LengthGroupedSampler(batch, lengths=[len(e["input_ids"]) for e in train], generator=generator)
        order = list(sampler)
        for start in range(0, len(order), batch):
            inputs = collate([train[i] for i in order[start : start + batch]])
            loss = model(**inputs).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        predicted = []
        with torch.inference_mode():
            for start in range(0, len(evaluation), batch * 2):
                logits = model(**collate(evaluation[start : start + batch * 2])).logits
                predicted += [names[int(i)] for i in logits.argmax(-1)]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "samples_per_second": len(train) * epochs / seconds,
        "accuracy": accuracy(eval_y, predicted),
        "peak_rss": _peak_rss(),
    }


def side_smollm2(method: str, steps: int, batch: int, out: Path) -> dict[str, Any]:
    from harness.config import build_config
    from harness.train import train

    config = build_config(
        {"data": "demo-qa", "method": method, "max_steps": steps, "per_device_train_batch_size": batch,
         "max_length": 256, "eval_fraction": 0.05, "eval_generate": 0, "output_dir": str(out / method),
         "learning_rate": 2e-5 if method == "full" else 2e-4}
    )  # fmt: skip
    outcome = train(config, overwrite=True)
    m = outcome.metrics
    return {
        "tokens_per_second": m["train_tokens_per_second"],
        "samples_per_second": steps * batch / m["train_seconds"],
        "peak_rss": m["peak_rss_bytes"],
        "trainable_params": m["trainable_params"],
        "eval_loss": m["eval"]["loss"],
        "model_bytes": m["model_bytes"],
    }


SIDES: dict[str, Callable[..., dict[str, Any]]] = {
    "guide": side_guide,
    "tunewise": side_tunewise,
    "loop": side_loop,
    "smollm2": side_smollm2,
}


def run_worker(side: str, **kwargs: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tunewise-bench-") as tmp:
        command = [sys.executable, __file__, "--worker", side, "--kwargs", json.dumps(kwargs), "--tmp", tmp]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO, env=os.environ.copy())
        if done.returncode != 0:
            raise SystemExit(f"{side} failed:\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("guide", "loop", "smollm2"), action="append")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=10, help="SmolLM2 optimizer steps per method")
    parser.add_argument("--loop-epochs", type=float, default=1.0)
    parser.add_argument("--banking77", type=Path, default=REPO.parent / "shared" / "data" / "banking77")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kwargs = json.loads(args.kwargs)
        print(json.dumps(SIDES[args.worker](out=Path(args.tmp), **kwargs)))
        return
    only = args.only or ["guide", "loop", "smollm2"]
    if "guide" in only:
        common = {"epochs": args.epochs, "batch": 8, "lr": 5e-5, "data": DEMO}
        guide, ours = run_worker("guide", **common), run_worker("tunewise", **common)
        print(
            f"guide recipe (padding=max_length) vs tunewise, demo data, minilm-l6 full, {args.epochs:g} epochs, batch 8:"
        )
        for name, r in (("guide", guide), ("tunewise", ours)):
            print(
                f"  {name:9} {r['samples_per_second']:7.1f} samples/s  accuracy {r['accuracy']:.3f}  peak {r['peak_rss'] / 2**30:.2f} GiB"
            )
        print(
            f"  speed-up {ours['samples_per_second'] / guide['samples_per_second']:.1f}x  (target >= 5x, accuracy >= guide's)"
        )
    if "loop" in only:
        # Longer epochs than the demo's 16 seconds, so that the fixed cost per epoch (a checkpoint
        # for --resume) weighs what it weighs in real runs; the demo when BANKING77 is absent.
        data = DEMO
        if (args.banking77 / "train.csv").is_file():
            tmp = Path(tempfile.mkdtemp(prefix="tunewise-b77-"))
            data = banking77_subset(args.banking77, tmp, 3000, 500)
        print(
            f"hand-written loop vs tunewise, minilm-l6 full, {args.loop_epochs:g} epoch(s), batch 16, data {data['data']}:"
        )
        common = {"epochs": args.loop_epochs, "batch": 16, "lr": 1e-4, "data": data}
        ratios = []
        for _ in range(2):  # alternate, so drift in the machine's speed hits both sides
            loop, ours = run_worker("loop", **common), run_worker("tunewise", **common)
            ratios.append(ours["samples_per_second"] / loop["samples_per_second"])
            print(
                f"  loop {loop['samples_per_second']:.1f} samples/s (acc {loop['accuracy']:.3f})  tunewise "
                f"{ours['samples_per_second']:.1f} samples/s (acc {ours['accuracy']:.3f})  ratio {ratios[-1]:.2f}"
            )
        print(
            f"tunewise / hand-written loop: mean {sum(ratios) / len(ratios):.2f}x, worst {min(ratios):.2f}x (target >= 0.9x)"
        )
    if "smollm2" in only:
        print(f"SmolLM2-135M instruction tuning on demo-qa, {args.steps} steps of 8, max_length 256:")
        for method in ("full", "lora", "qlora"):
            r = run_worker("smollm2", method=method, steps=args.steps, batch=8)
            print(
                f"  {method:5} {r['tokens_per_second']:6.0f} tokens/s  {r['samples_per_second']:.2f} samples/s  peak "
                f"{r['peak_rss'] / 2**30:.2f} GiB  trainable {r['trainable_params'] / 1e6:.1f}M  saved "
                f"{r['model_bytes'] / 2**20:.0f} MiB  eval loss {r['eval_loss']:.3f}"
            )


if __name__ == "__main__":
    main()
