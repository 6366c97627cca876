"""Measured peak training memory against the estimator, on the built-in models.

    python benchmarks/bench_memory.py [--steps 3] [--json OUT]

For each model and method, a fresh process imports the libraries, notes its resident memory,
loads the model, resets the kernel's peak-RSS counter (/proc/self/clear_refs), runs a few real
AdamW training steps on a fixed batch, and reads the peak back. Like the harness, it first fixes
glibc's mmap threshold (harness/memory.py) so that freed tensors go back to the system. The difference is what
training cost in memory: weights, gradients, optimizer states and activations, which is what
`advisor.estimate.estimate_training` predicts. The target is agreement within 25%.
It also reports training tokens per second against the estimator's time model.
On a GPU the same script uses `torch.cuda.max_memory_allocated` instead of RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = [
    # model, method, batch, sequence length
    ("minilm-l6", "full", 16, 128),
    ("minilm-l6", "lora", 16, 128),
    ("minilm-l6", "qlora", 16, 128),
    ("smollm2-135m-instruct", "full", 4, 256),
    ("smollm2-135m-instruct", "lora", 4, 256),
    ("smollm2-135m-instruct", "qlora", 4, 256),
]
NUM_LABELS = 77
LORA_R = 16


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} missing from /proc/self/status")


def worker(model_name: str, method: str, batch: int, seq: int, steps: int) -> dict[str, object]:
    """Runs inside its own process; returns the measurements."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    from harness.memory import limit_allocator_retention
    from harness.modeling import UNQUANTIZED_HEADS, head_modules
    from tunewise.defaults import DEFAULT_LORA_DROPOUT
    from tunewise.inference import pick_device
    from tunewise.models import resolve_model

    transformers.utils.logging.disable_progress_bar()
    limit_allocator_retention()  # as the harness does: measure what tensors need, not glibc's slack
    device = pick_device()
    on_gpu = device.type == "cuda"
    torch.manual_seed(0)
    resolved = resolve_model(model_name)
    encoder = resolved.kind == "encoder"
    baseline = torch.cuda.memory_allocated() if on_gpu else _rss("VmRSS")

    # Any, as in harness.modeling: from_pretrained's keyword types change with each transformers release.
    kwargs: dict[str, Any] = {}
    if method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if on_gpu else torch.float32,
            llm_int8_skip_modules=UNQUANTIZED_HEADS if encoder else None,
        )
        kwargs["device_map"] = {"": device.index or 0} if on_gpu else "cpu"
    elif on_gpu:
        kwargs["dtype"] = torch.bfloat16
    if encoder:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            resolved.path, num_labels=NUM_LABELS, **kwargs
        )
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(resolved.path, **kwargs)
    if method == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if method in ("lora", "qlora"):
        config = LoraConfig(
            r=LORA_R,
            lora_alpha=2 * LORA_R,
            lora_dropout=DEFAULT_LORA_DROPOUT,  # as the harness trains: a copy of each adapted input
            target_modules="all-linear",
            task_type="SEQ_CLS" if encoder else "CAUSAL_LM",
            modules_to_save=head_modules(model) if encoder else None,  # as the harness trains them
        )
        model = get_peft_model(model, config)
    if "device_map" not in kwargs:
        model = model.to(device)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    vocab = model.config.vocab_size
    ids = torch.randint(5, vocab, (batch, seq), device=device)
    labels = torch.randint(0, NUM_LABELS, (batch,), device=device) if encoder else ids

    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # restart the kernel's peak-RSS counter here
    timings = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)  # keep gradients allocated, as a Trainer does between steps
        timings.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() if on_gpu else _rss("VmHWM")
    return {
        "peak_bytes": peak - baseline,
        "trainable": trainable,
        "seconds_per_step": min(timings[1:] or timings),
        "device": str(device),
    }


def estimate_for(model_name: str, method: str, batch: int, seq: int, on_gpu: bool) -> dict[str, Any]:
    from advisor.architectures import KNOWN
    from advisor.estimate import Hardware, TrainingPlan, estimate_training

    spec = KNOWN[model_name]
    hardware = Hardware(80, 1) if on_gpu else Hardware(0, 0, 64, 2)
    plan = TrainingPlan(
        method,  # type: ignore[arg-type]
        batch_size=batch,
        seq_len=seq,
        lora_r=LORA_R,
        target_modules="all-linear",
        num_labels=NUM_LABELS if spec.kind == "encoder" else None,
        n_examples=batch,
        epochs=1,
        tokens_per_example=seq,
    )
    estimate = estimate_training(spec, plan, hardware)
    overhead = estimate.memory.overhead  # the CUDA context is outside max_memory_allocated
    return {
        "bytes": estimate.memory.total - overhead,
        "trainable": estimate.trainable_params,
        "seconds_per_step": estimate.hours * 3600,
        "parts": estimate.memory.to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--worker", nargs=4, metavar=("MODEL", "METHOD", "BATCH", "SEQ"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        model, method, batch, seq = args.worker
        print(json.dumps(worker(model, method, int(batch), int(seq), args.steps)))
        return

    rows: list[dict[str, Any]] = []
    print(
        f"{'model':24} {'method':6} {'batch x seq':>11} {'estimated':>10} {'measured':>10} {'ratio':>6} {'tok/s':>8} {'est tok/s':>9}"
    )
    for model, method, batch, seq in CASES:
        proc = subprocess.run(
            [sys.executable, __file__, "--steps", str(args.steps), "--worker", model, method, str(batch), str(seq)],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["?"])[-1][:90]
            print(f"{model:24} {method:6} {batch:>4} x {seq:<4}  failed: {reason}")
            rows.append({"model": model, "method": method, "error": reason})
            continue
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
        on_gpu = measured["device"].startswith("cuda")
        estimate = estimate_for(model, method, batch, seq, on_gpu)
        ratio = measured["peak_bytes"] / estimate["bytes"]
        tokens = batch * seq
        print(
            f"{model:24} {method:6} {batch:>4} x {seq:<4} {estimate['bytes'] / 1e9:9.3f}G {measured['peak_bytes'] / 1e9:9.3f}G "
            f"{ratio:6.2f} {tokens / measured['seconds_per_step']:8.0f} {tokens / estimate['seconds_per_step']:9.0f}"
        )
        rows.append(
            {
                "model": model,
                "method": method,
                "batch": batch,
                "seq": seq,
                "device": measured["device"],
                "estimated_gb": round(estimate["bytes"] / 1e9, 3),
                "measured_gb": round(measured["peak_bytes"] / 1e9, 3),
                "measured_over_estimated": round(ratio, 3),
                "trainable_measured": measured["trainable"],
                "trainable_estimated": estimate["trainable"],
                "tokens_per_second": round(tokens / measured["seconds_per_step"], 1),
                "estimated_tokens_per_second": round(tokens / estimate["seconds_per_step"], 1),
            }
        )
    within = [r for r in rows if "error" not in r and abs(r["measured_over_estimated"] - 1) <= 0.25]
    print(f"within 25%: {len(within)} of {sum('error' not in r for r in rows)} runs")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
