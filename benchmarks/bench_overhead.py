"""What tunewise adds to a training step: the harness against a bare Trainer, on a tiny model.

    python benchmarks/bench_overhead.py [--rows 2400] [--rounds 2]

A one-layer BERT with random weights (MiniLM's config and tokenizer, one block) trains one
epoch of classification, batch 16, fp32 on the CPU, through `tunewise train` and through a
plain `transformers.Trainer` given the same tokenised rows, the same dynamic padding, the same
learning rate and the same per-epoch evaluation and checkpoint. The model is so small that
any per-step cost of the harness (callbacks, token counting, data order, padding) would show.
Each side runs in its own process, alternating, and the ratio of their training throughput
(samples/s, from the Trainer's own clock) is printed; the target is at least 0.9x.

Measure on an idle machine: a busy core makes OpenMP threads spin and slows every op.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BATCH, LR = 16, 1e-4


def tiny_bert(folder: Path) -> Path:
    """MiniLM's config and tokenizer with one block and random weights."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from tunewise.models import resolve_model

    source = resolve_model("minilm-l6").path
    config = AutoConfig.from_pretrained(source, num_hidden_layers=1)
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def data_spec(banking77: Path, rows: int, out: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_train import banking77_subset

    if (banking77 / "train.csv").is_file():
        return banking77_subset(banking77, out, rows, 500)
    return {"data": "demo"}


def side_tunewise(model: str, data: dict[str, Any], out: Path) -> dict[str, Any]:
    from harness.config import build_config
    from harness.train import train

    config = build_config(
        data | {"base_model": model, "method": "full", "num_train_epochs": 1, "per_device_train_batch_size": BATCH,
                "learning_rate": LR, "output_dir": str(out / "run"), "use_cpu": True}
    )  # fmt: skip
    metrics = train(config, overwrite=True).metrics
    return {
        "samples_per_second": metrics["train_samples_per_second"],
        "step_samples_per_second": metrics["train_examples"] / metrics["step_seconds"],
        "steps": metrics["steps"],
    }


def side_trainer(model: str, data: dict[str, Any], out: Path) -> dict[str, Any]:
    """The same rows and settings through transformers alone."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from harness.callbacks import ProgressReporter
    from harness.config import build_config
    from harness.examples import load_examples_data

    split = load_examples_data(build_config(data))
    names = sorted(set(split.train.labels() or []))
    tokenizer = AutoTokenizer.from_pretrained(model)

    def rows(inputs: list[str], labels: list[str]) -> list[dict[str, Any]]:
        encoded = tokenizer(inputs, truncation=True)["input_ids"]
        return [{"input_ids": e, "labels": names.index(y)} for e, y in zip(encoded, labels, strict=True)]

    train_rows = rows(split.train.inputs(), split.train.labels() or [])
    eval_rows = rows(split.eval.inputs(), split.eval.labels() or [])
    set_seed(42)
    classifier = AutoModelForSequenceClassification.from_pretrained(model, num_labels=len(names))
    args = TrainingArguments(
        output_dir=str(out / "trainer"), per_device_train_batch_size=BATCH, per_device_eval_batch_size=2 * BATCH,
        num_train_epochs=1, learning_rate=LR, eval_strategy="epoch", save_strategy="epoch", report_to="none",
        disable_tqdm=True, use_cpu=True,
    )  # fmt: skip
    clock = ProgressReporter(None)  # the harness's step clock: time inside optimizer steps only
    trainer = Trainer(
        model=classifier,
        args=args,
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[clock],
    )
    output = trainer.train()
    return {
        "samples_per_second": output.metrics["train_samples_per_second"],
        "step_samples_per_second": len(train_rows) / clock.step_seconds,
        "steps": output.global_step,
    }


SIDES = {"tunewise": side_tunewise, "trainer": side_trainer}


def run_side(side: str, model: Path, data: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tunewise-overhead-") as tmp:
        command = [sys.executable, __file__, "--worker", side, "--model", str(model), "--data", json.dumps(data),
                   "--tmp", tmp]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
        if done.returncode != 0:
            raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--banking77", type=Path, default=REPO.parent / "shared" / "data" / "banking77")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(SIDES[args.worker](args.model, json.loads(args.data), Path(args.tmp))))
        return
    with tempfile.TemporaryDirectory(prefix="tunewise-overhead-") as tmp:
        model = tiny_bert(Path(tmp) / "bert-1-layer")
        data = data_spec(args.banking77, args.rows, Path(tmp))
        print(f"one-layer random BERT, batch {BATCH}, 1 epoch, fp32 CPU, data {data['data']}:")
        whole, steps = [], []
        for _ in range(args.rounds):  # alternate, so drift in the machine's speed hits both sides
            bare, ours = run_side("trainer", model, data), run_side("tunewise", model, data)
            whole.append(ours["samples_per_second"] / bare["samples_per_second"])
            steps.append(ours["step_samples_per_second"] / bare["step_samples_per_second"])
            print(
                f"  bare Trainer {bare['samples_per_second']:6.0f} samples/s, {bare['step_samples_per_second']:6.0f} in "
                f"steps ({bare['steps']} steps)   tunewise {ours['samples_per_second']:6.0f} samples/s, "
                f"{ours['step_samples_per_second']:6.0f} in steps ({ours['steps']} steps)"
            )
        for name, ratios in (("whole epoch (with its evaluation and checkpoint)", whole), ("inside steps", steps)):
            print(f"tunewise / bare Trainer, {name}: mean {sum(ratios) / len(ratios):.2f}x, worst {min(ratios):.2f}x")
        print("target: at least 0.9x")


if __name__ == "__main__":
    main()
