"""Training on a GPU, in one short job: where the step time goes, and what tunewise reaches.

    python benchmarks/bench_gpu.py [--out DIR] [--random-weights] [--assets DIR]
    python benchmarks/bench_gpu.py --prepare-assets DIR   # on a machine with the built-ins

Sections, each in its own process with its own time limit, so that one failure or a slow
compile costs only its own figures; each writes `DIR/<section>.json` as it ends, and the
summary table is printed last. A plain run does the first four (`gpu_llm.py` says how):

- `lora-1b`, `qlora-1b`, `full-1b`: a Llama-3.2-1B-shaped model (or `--model PATH`), packed
  2,048-token rows, bf16: `tunewise train` (with Liger's kernels and FlashAttention 2 as
  variants where installed) against a bare Trainer + peft with the same rows; tokens/s, peak
  GPU memory against the advisor's estimate, and for full fine-tuning the share of the bf16 peak.
- `8b`: a Llama-3.1-8B-shaped model, LoRA and QLoRA, with the batch split tunewise picks.

The sections of the built-in models, by `--only`:

- `attention`: the step time of MiniLM classification with dynamic padding (a new sequence
  length at nearly every batch), fp32 against bf16, bf16 with cuDNN's attention off, and bf16
  with lengths rounded to 64; each SDPA backend alone on new and on repeated shapes; a
  torch.profiler table of the bf16 steps.
- `minilm`: 2,400 BANKING77 questions, one epoch, batch 8: the guide's recipe (Trainer,
  `padding="max_length"` to 512, fp32) against `tunewise train` (auto precision and fp32;
  full, LoRA, QLoRA; full at batch 32).
- `smollm2`: SmolLM2-135M instruction tuning on demo-qa with packing, batch 8 x 512: tokens/s
  for full, LoRA and QLoRA, and the share of the GPU's measured bf16 matmul peak it reaches.
- `memory`: a few training steps at batch 8 x 512 for each model and method, as the harness
  loads and trains them; the peak against `advisor.estimate.estimate_training`.
- `compile`: SmolLM2 full fine-tuning as above with `torch_compile: true`, steady-state tokens/s.

`--random-weights` builds randomly initialised copies of the models from their config and
tokenizer (the speed and memory of a step do not depend on the weights), for machines that
cannot install the model packages; `--prepare-assets` writes those configs, tokenizers and the
BANKING77 subsets into a folder small enough to copy there.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gpu_llm import steady_tokens_per_second  # noqa: E402  (the module beside this script)

N_TRAIN, N_EVAL = 2400, 500
ROW_TOKENS, ROW_BATCH = 512, 8
# --quick: a rehearsal of every code path on any machine (a CPU too), with tiny sizes.
QUICK = {"ROW_TOKENS": 128, "ROW_BATCH": 2, "BATCHES": 3, "MAX_STEPS": 3, "N_GUIDE": 16,
         "LLM_ROW_TOKENS": 128, "LLM_STEPS": 4, "LLM_QUICK": True}  # fmt: skip
N_GUIDE = N_TRAIN
BATCHES, MAX_STEPS = 50, 30
DEVICE = "cuda"
LIMITS = {"attention": 75, "minilm": 190, "smollm2": 140, "memory": 70, "compile": 120,
          "lora-1b": 110, "qlora-1b": 100, "full-1b": 100, "8b": 220}  # fmt: skip
# The sections a plain run does (the others by --only): causal LMs of the sizes users bring to a GPU.
DEFAULT_SECTIONS = ("lora-1b", "qlora-1b", "full-1b", "8b")
LLM_ROW_TOKENS, LLM_STEPS, LLM_QUICK = 2048, 12, False
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
               "chat_template.jinja", "generation_config.json")  # fmt: skip


# ------------------------------------------------------------------------------------------ assets


def prepare_assets(folder: Path, banking77: Path) -> None:
    """Configs, tokenizers and data subsets: what the sections need besides the libraries."""
    from tunewise.models import resolve_model

    for alias in ("minilm-l6", "smollm2-135m-instruct"):
        source, target = resolve_model(alias).path, folder / "models" / alias
        target.mkdir(parents=True, exist_ok=True)
        for name in MODEL_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, target / name)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for name, n in (("train.csv", N_TRAIN), ("test.csv", N_EVAL)):
        with open(banking77 / name, newline="", encoding="utf-8") as src:
            rows = list(csv.reader(src))[: n + 1]
        with open(folder / "data" / name, "w", newline="", encoding="utf-8") as dest:
            csv.writer(dest).writerows(rows)


def model_paths(args: argparse.Namespace) -> dict[str, str]:
    """Each alias's folder: the built-in, or a random-weight copy built from `--assets`."""
    if not args.random_weights:
        return {"minilm-l6": "minilm-l6", "smollm2-135m-instruct": "smollm2-135m-instruct"}
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    paths = {}
    for alias, factory in (("minilm-l6", AutoModel), ("smollm2-135m-instruct", AutoModelForCausalLM)):
        source = args.assets / "models" / alias
        target = Path("/tmp/tunewise-gpu-models") / alias
        if not (target / "model.safetensors").is_file():
            torch.manual_seed(0)
            model = factory.from_config(AutoConfig.from_pretrained(source))
            model.save_pretrained(target)
            for name in MODEL_FILES:
                if (source / name).is_file() and name != "config.json":
                    shutil.copy2(source / name, target / name)
        paths[alias] = str(target)
    return paths


def data_spec(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "data": str(args.assets / "data" / "train.csv"),
        "eval_data": str(args.assets / "data" / "test.csv"),
        "columns": {"text": "text", "label": "category"},
    }


def texts(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    with open(args.assets / "data" / "train.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


# ---------------------------------------------------------------------------------------- sections


def _sync_time(fn: Any) -> float:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _memory(kind: str) -> int:
    import torch

    if DEVICE != "cuda":
        return 0
    return int(torch.cuda.max_memory_allocated() if kind == "peak" else torch.cuda.memory_allocated())


def matmul_peak() -> float:
    """bf16 TFLOP/s of a large matrix product here: the ceiling the shares are taken of."""
    import torch

    n = 8192 if DEVICE == "cuda" else 512
    a = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    seconds = _sync_time(lambda: [a @ b for _ in range(20)]) / 20
    return 2 * n**3 / seconds / 1e12


def section_attention(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tunewise.models import resolve_model

    result: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu",
        "torch": torch.__version__,
        "bf16_tflops": matmul_peak(),
    }
    import transformers

    result["transformers"] = transformers.__version__
    folder = resolve_model(paths["minilm-l6"]).path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    questions, _ = texts(args)

    def batches(size: int, multiple: int | None, start: int, count: int) -> list[dict[str, Any]]:
        out = []
        for i in range(start, start + size * count, size):
            enc = tokenizer(questions[i : i + size], padding=True, truncation=True, pad_to_multiple_of=multiple,
                            return_tensors="pt")  # fmt: skip
            enc["labels"] = torch.randint(0, 77, (len(questions[i : i + size]),))
            out.append({k: v.to(DEVICE) for k, v in enc.items()})
        return out

    def steps(model: Any, data: list[dict[str, Any]], dtype: Any) -> float:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)

        def run() -> None:
            for batch in data:
                with torch.autocast(DEVICE, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                    loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

        return _sync_time(run) / len(data) * 1000

    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=77).to(DEVICE).train()
    steps(model, batches(8, None, 2000, 5), None)  # kernels loaded, allocator warm, before any timing
    rows: dict[str, float] = {}
    # Order matters: a shape cached by one variant is warm for the next, so the variants that can
    # reuse nothing run first, and "bf16 dynamic" runs twice on the same batches (new shapes, then
    # the same shapes again): a large gap between the two is per-shape set-up.
    plan = [
        ("fp32 dynamic, batch 8", None, None, 8, True, 0),
        ("bf16 dynamic, cuDNN attention off, batch 8", torch.bfloat16, None, 8, False, 0),
        ("bf16 lengths to 64, batch 8", torch.bfloat16, 64, 8, True, 0),
        ("bf16 lengths to 16, batch 8", torch.bfloat16, 16, 8, True, 800),
        ("bf16 dynamic, batch 8 (new shapes)", torch.bfloat16, None, 8, True, 0),
        ("bf16 dynamic, batch 8 (same shapes again)", torch.bfloat16, None, 8, True, 0),
        ("fp32 dynamic, batch 32", None, None, 32, True, 0),
        ("bf16 lengths to 64, batch 32", torch.bfloat16, 64, 32, True, 0),
        ("bf16 dynamic, batch 32 (new shapes)", torch.bfloat16, None, 32, True, 0),
    ]
    for name, dtype, multiple, size, cudnn, start in plan:
        torch.backends.cuda.enable_cudnn_sdp(cudnn)
        rows[name] = steps(model, batches(size, multiple, start, BATCHES if size == 8 else BATCHES // 2), dtype)
        print(f"  {name:45} {rows[name]:7.2f} ms/step", flush=True)
    torch.backends.cuda.enable_cudnn_sdp(True)
    result["ms_per_step"] = rows

    # Each backend alone, forward and backward, on a shape it has not seen and then again.
    backends: dict[str, dict[str, Any]] = {}
    for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH):
        timings: dict[str, list[float]] = {"new": [], "repeated": []}
        for length in (19, 27, 35, 43, 51):
            q, k, v = (torch.randn(8, 12, length, 32, device=DEVICE, dtype=torch.bfloat16, requires_grad=True)
                       for _ in range(3))  # fmt: skip
            mask = torch.ones(8, 1, length, length, device=DEVICE, dtype=torch.bool)
            mask[:4, :, :, length - 5 :] = False

            def call(backend: Any = backend, q: Any = q, k: Any = k, v: Any = v, mask: Any = mask) -> None:
                with sdpa_kernel(backend):
                    torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask).sum().backward()

            try:
                timings["new"].append(_sync_time(call) * 1000)
                timings["repeated"].append(statistics.median(_sync_time(call) * 1000 for _ in range(5)))
            except RuntimeError as exc:
                timings["error"] = [0.0]
                backends[backend.name] = {"error": str(exc).splitlines()[0][:120]}
                break
        if backend.name not in backends:
            backends[backend.name] = {kind: statistics.median(ms) for kind, ms in timings.items()}
        print(f"  SDPA {backend.name:22} {backends[backend.name]}", flush=True)
    result["sdpa_backends_ms"] = backends

    # Where a bf16 step with dynamic shapes spends its time, on batches of a size not seen yet.
    from torch.profiler import ProfilerActivity, profile

    data = batches(16, None, 1200, max(BATCHES // 2, 2))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if DEVICE == "cuda" else [])
    with profile(activities=activities) as prof:
        steps(model, data, torch.bfloat16)
    tables = [prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)]
    if DEVICE == "cuda":
        tables.append(prof.key_averages().table(sort_by="self_device_time_total", row_limit=15))
    (args.out / "profile_bf16_dynamic.txt").write_text("\n\n".join(tables))
    result["profile_top_cpu"] = [
        (e.key, round(e.self_cpu_time_total / 1000, 1), e.count)
        for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:8]
    ]
    return result


def _train(config: dict[str, Any], steps_seen: list[tuple[int, float]] | None = None) -> dict[str, Any]:
    from harness.config import build_config
    from harness.train import train

    def record(progress: Any) -> None:
        if steps_seen is not None and progress.event == "step":
            steps_seen.append((progress.step, progress.elapsed))

    started = time.perf_counter()
    outcome = train(build_config(config), overwrite=True, on_progress=record)
    metrics = dict(outcome.metrics)
    metrics["wall_seconds"] = time.perf_counter() - started
    return {k: v for k, v in metrics.items() if k not in ("history", "rank_digests", "eval", "warnings")} | {
        "eval": {k: v for k, v in metrics["eval"].items() if isinstance(v, float)}
    }


def section_minilm(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from tunewise.models import resolve_model

    result: dict[str, Any] = {}
    questions, intents = texts(args)
    names = sorted(set(intents))
    folder = resolve_model(paths["minilm-l6"]).path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # The guide's section-3 recipe: every example padded to 512 tokens, fp32, Trainer defaults.
    encoded = tokenizer(questions[:N_GUIDE], truncation=True, padding="max_length")
    train_rows = [
        {"input_ids": i, "attention_mask": m, "labels": names.index(y)}
        for i, m, y in zip(encoded["input_ids"], encoded["attention_mask"], intents, strict=False)
    ]
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(names))
    guide_args = TrainingArguments(
        output_dir="/tmp/tunewise-gpu-guide", per_device_train_batch_size=8, num_train_epochs=1,
        learning_rate=5e-5, save_strategy="epoch", eval_strategy="epoch", report_to="none", disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=model, args=guide_args, train_dataset=train_rows, eval_dataset=train_rows[: min(N_EVAL, N_GUIDE)]
    )
    result["guide"] = {"samples_per_second": trainer.train().metrics["train_samples_per_second"]}
    print(f"  guide recipe: {result['guide']['samples_per_second']:.0f} samples/s", flush=True)
    del trainer, model
    torch.cuda.empty_cache()

    base = data_spec(args) | {"base_model": paths["minilm-l6"], "num_train_epochs": 1, "learning_rate": 5e-5,
                              "per_device_train_batch_size": 8} | ({"max_steps": MAX_STEPS} if MAX_STEPS < 30 else {})  # fmt: skip
    runs: dict[str, dict[str, Any]] = {
        "full auto": {"method": "full"},
        "full auto, lengths to 64": {"method": "full"},
        "full fp32": {"method": "full", "precision": "fp32"},
        "full auto batch 32": {"method": "full", "per_device_train_batch_size": 32},
        "full fp32 batch 32": {"method": "full", "precision": "fp32", "per_device_train_batch_size": 32},
        "lora auto": {"method": "lora", "learning_rate": 5e-4},
        "qlora auto": {"method": "qlora", "learning_rate": 5e-4},
    }
    import harness.collate

    for name, extra in runs.items():
        # The harness's rounding of batch lengths on a GPU, switched off for one run to compare.
        harness.collate.GPU_PAD_MULTIPLE = 64 if "to 64" in name else 8
        try:
            metrics = _train(base | extra | {"output_dir": f"/tmp/tunewise-gpu-runs/minilm-{name.replace(' ', '-')}"})
        except Exception as exc:  # one method failing must not hide the others' figures
            result[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            print(f"  {name}: {result[name]['error']}", flush=True)
            continue
        steps = max(metrics["steps"], 1)
        result[name] = {
            "samples_per_second": metrics["train_samples_per_second"],
            "samples_per_step_second": steps * extra.get("per_device_train_batch_size", 8) / metrics["step_seconds"],
            "ms_per_step": metrics["step_seconds"] / steps * 1000,
            "peak_gpu_gb": metrics.get("peak_gpu_bytes", 0) / 1e9,
            "vs_guide": metrics["train_samples_per_second"] / result["guide"]["samples_per_second"],
        }
        print(f"  {name}: {result[name]}", flush=True)
        torch.cuda.empty_cache()
    return result


def _smollm2_config(paths: dict[str, str], method: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "data": "demo-qa", "base_model": paths["smollm2-135m-instruct"], "method": method, "packing": True,
        "max_length": ROW_TOKENS, "per_device_train_batch_size": ROW_BATCH, "max_steps": MAX_STEPS, "eval_generate": 0,
        "eval_fraction": 0.05, "learning_rate": 2e-5 if method == "full" else 2e-4,
        "output_dir": f"/tmp/tunewise-gpu-runs/smollm2-{method}", "save_total_limit": 1, "save_steps": MAX_STEPS,
    } | (extra or {})  # fmt: skip


def _smollm2_row(
    metrics: dict[str, Any], steps_seen: list[tuple[int, float]], method: str, peak: float
) -> dict[str, Any]:
    from advisor.architectures import KNOWN
    from advisor.estimate import training_flops_per_token

    tokens_per_second = metrics["train_tokens_per_second"]
    tokens_per_step = tokens_per_second * metrics["step_seconds"] / max(metrics["steps"], 1)
    flops = training_flops_per_token(KNOWN["smollm2-135m-instruct"], method, False, ROW_TOKENS)  # type: ignore[arg-type]
    steady = steady_tokens_per_second(steps_seen, tokens_per_step)
    return {
        "tokens_per_second": tokens_per_second,
        "steady_tokens_per_second": steady,
        "tokens_per_step": tokens_per_step,
        "packing_fill": metrics.get("packing_fill"),
        "peak_gpu_gb": metrics.get("peak_gpu_bytes", 0) / 1e9,
        "share_of_bf16_peak": steady * flops / (peak * 1e12),
    }


def section_smollm2(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    import torch

    peak = matmul_peak()
    result: dict[str, Any] = {"bf16_tflops": peak}
    for method in ("full", "lora", "qlora"):
        seen: list[tuple[int, float]] = []
        try:
            metrics = _train(_smollm2_config(paths, method), seen)
        except Exception as exc:
            result[method] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            print(f"  {method}: {result[method]['error']}", flush=True)
            continue
        result[method] = _smollm2_row(metrics, seen, method, peak)
        print(f"  {method}: {result[method]}", flush=True)
        torch.cuda.empty_cache()
    return result


def section_compile(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    peak = matmul_peak()
    seen: list[tuple[int, float]] = []
    metrics = _train(_smollm2_config(paths, "full", {"torch_compile": True, "max_steps": MAX_STEPS + 10}), seen)
    row = _smollm2_row(metrics, seen, "full", peak)
    print(f"  full, torch_compile: {row}", flush=True)
    return {"full compiled": row, "wall_seconds": metrics["wall_seconds"]}


def section_memory(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    import torch

    from harness.config import build_config
    from harness.modeling import autocast_dtype, load_for_training
    from tunewise.models import resolve_model

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_memory import LORA_R, NUM_LABELS, estimate_for

    result: dict[str, Any] = {}
    for alias in ("minilm-l6", "smollm2-135m-instruct"):
        resolved = resolve_model(paths[alias])
        encoder = resolved.kind == "encoder"
        for method in ("full", "lora", "qlora"):
            config = build_config({"method": method} | ({"lora_r": LORA_R} if method != "full" else {}))
            labels = {str(i): i for i in range(NUM_LABELS)} if encoder else None
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            before = _memory("now")
            try:
                loaded = load_for_training(
                    config, "classification" if encoder else "generation", resolved, labels, DEVICE
                )
            except Exception as exc:
                result[f"{alias} {method}"] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
                continue
            model = loaded.model if method == "qlora" else loaded.model.to(DEVICE)
            model.train()
            weights = _memory("now") - before
            optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, fused=True)
            ids = torch.randint(5, model.config.vocab_size, (ROW_BATCH, ROW_TOKENS), device=DEVICE)
            target = torch.randint(0, NUM_LABELS, (ROW_BATCH,), device=DEVICE) if encoder else ids
            dtype = autocast_dtype(config, DEVICE)
            if DEVICE == "cuda":
                torch.cuda.reset_peak_memory_stats()
            after_step = 0
            for _ in range(3):
                with torch.autocast(DEVICE, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                    loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=target).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=False)  # as the Trainer keeps them between steps
                after_step = _memory("now") - before
            measured = _memory("peak") - before
            estimate = estimate_for(alias, method, ROW_BATCH, ROW_TOKENS, on_gpu=True)
            result[f"{alias} {method}"] = {
                "measured_gb": measured / 1e9,
                "estimated_gb": estimate["bytes"] / 1e9,
                "ratio": measured / estimate["bytes"],
                "estimate_parts_gb": {k: v / 1e9 for k, v in estimate.get("parts", {}).items()},
                "weights_gb": weights / 1e9,
                "between_steps_gb": after_step / 1e9,
                "activations_gb": (measured - after_step) / 1e9,
            }
            print(f"  {alias} {method}: {result[f'{alias} {method}']}", flush=True)
            del model, loaded, optimizer, loss
    return result


def _llm_section(
    family: str, methods: tuple[str, ...], steps: int, variants: bool, args: argparse.Namespace, paths: dict[str, str]
) -> dict[str, Any]:
    """`gpu_llm.compare` for each method on one model: a local one given by --model, or a random-weight `family`."""
    import importlib.util

    from gpu_llm import build_model, compare, write_pairs

    from tunewise.models import resolve_model

    family = "tiny-llama" if LLM_QUICK else family
    work = Path("/tmp/tunewise-gpu-llm")
    work.mkdir(parents=True, exist_ok=True)
    tokenizer = resolve_model(paths["smollm2-135m-instruct"]).path
    model = (
        Path(args.model) if args.model and "8b" not in family else build_model(family, work / family, tokenizer, DEVICE)
    )
    rows_needed = 16 * (steps + 2) * LLM_ROW_TOKENS * 1.3  # the effective batch, every step, with room
    data = write_pairs(work / f"pairs-{LLM_ROW_TOKENS}.jsonl", int(rows_needed))
    kernels: dict[str, tuple[str, dict[str, Any]]] = {
        "liger": ("liger_kernel", {"liger_kernel": True}),
        "flash-attention-2": ("flash_attn", {"attention": "flash_attention_2"}),
    }
    tried = {name: extra for name, (module, extra) in kernels.items() if variants and importlib.util.find_spec(module)}
    result: dict[str, Any] = {"model": str(model), "family": family, "row_tokens": LLM_ROW_TOKENS,
                              "kernels_missing": [n for n, (m, _) in kernels.items() if not importlib.util.find_spec(m)]}  # fmt: skip
    for method in methods:
        try:
            result[method] = compare(model, data, method, LLM_ROW_TOKENS, steps, work, tried)
        except Exception as exc:
            result[method] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            print(f"  {method}: {result[method]['error']}", flush=True)
    if "full" in result and "tunewise" in result["full"]:
        from advisor.architectures import spec_for
        from advisor.estimate import training_flops_per_token

        flops = training_flops_per_token(spec_for(str(model)), "full", False, LLM_ROW_TOKENS)
        peak = matmul_peak()
        result["full"]["share_of_bf16_peak"] = result["full"]["tunewise"]["tokens_per_second"] * flops / (peak * 1e12)
        result["bf16_tflops"] = peak
    return result


def section_lora_1b(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    return _llm_section("llama-3.2-1b", ("lora",), LLM_STEPS, True, args, paths)


def section_qlora_1b(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    return _llm_section("llama-3.2-1b", ("qlora",), LLM_STEPS, True, args, paths)


def section_full_1b(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    return _llm_section("llama-3.2-1b", ("full",), LLM_STEPS, False, args, paths)


def section_8b(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, Any]:
    return _llm_section("llama-3.1-8b", ("lora", "qlora"), max(4, LLM_STEPS // 2), False, args, paths)


SECTIONS = {
    "lora-1b": section_lora_1b,
    "qlora-1b": section_qlora_1b,
    "full-1b": section_full_1b,
    "8b": section_8b,
    "attention": section_attention,
    "minilm": section_minilm,
    "smollm2": section_smollm2,
    "memory": section_memory,
    "compile": section_compile,
}


# ------------------------------------------------------------------------------------------ driver


def summary(out: Path) -> None:
    def load(name: str) -> dict[str, Any]:
        path = out / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    for name in DEFAULT_SECTIONS:
        section = load(name)
        for method, row in section.items():
            if not isinstance(row, dict) or method == "kernels_missing":
                continue
            if "error" in row:
                print(f"  {name} {method:6} {row['error']}")
                continue
            for variant, run in row.items():
                if isinstance(run, dict) and "tokens_per_second" in run:
                    print(f"  {name} {method:6} {variant:30} {run['tokens_per_second']:9.0f} tokens/s  "
                          f"peak {run.get('peak_gpu_gb', 0):6.1f} GB  {run.get('rows', '')}x{run.get('accumulation', '')}")  # fmt: skip
                elif isinstance(run, dict):
                    print(f"  {name} {method:6} {variant:30} {run.get('error', '')}")
            print(f"  {name} {method:6} tunewise / bare {row.get('vs_bare', 0):.2f}x, estimated {row.get('estimated_gb', 0):.1f} GB"
                  + (f", {row['share_of_bf16_peak']:.1%} of the bf16 peak" if "share_of_bf16_peak" in row else ""))  # fmt: skip
        if section.get("kernels_missing"):
            print(f"  {name}: not installed here: {', '.join(section['kernels_missing'])}")
    attention, minilm, smollm2, memory, compiled = (
        load(n) for n in ("attention", "minilm", "smollm2", "memory", "compile")
    )
    if not any((attention, minilm, smollm2, memory, compiled)):
        return
    print(f"\n== {attention.get('gpu', '?')}  torch {attention.get('torch', '?')}  "
          f"transformers {attention.get('transformers', '?')}  bf16 matmul {attention.get('bf16_tflops', 0):.0f} TFLOP/s")  # fmt: skip
    for name, ms in attention.get("ms_per_step", {}).items():
        print(f"  {name:45} {ms:7.2f} ms/step")
    guide = minilm.get("guide", {}).get("samples_per_second")
    if guide:
        print(f"MiniLM, 2,400 questions, 1 epoch: guide recipe {guide:.0f} samples/s")
        for name, row in minilm.items():
            if name != "guide":
                shown = row.get("error") or (f"{row['samples_per_second']:6.0f} samples/s  {row['vs_guide']:5.1f}x guide  "
                                             f"{row['ms_per_step']:6.1f} ms/step  peak {row['peak_gpu_gb']:.2f} GB")  # fmt: skip
                print(f"  {name:20} {shown}")
    for name, section in (("SmolLM2 packed 8x512", smollm2), ("compiled", compiled)):
        for method, row in section.items():
            if isinstance(row, dict):
                shown = row.get("error") or (f"{row['tokens_per_second']:8.0f} tokens/s (steady {row['steady_tokens_per_second']:8.0f})  "
                                             f"{row['share_of_bf16_peak']:.1%} of bf16 peak  peak {row['peak_gpu_gb']:.2f} GB")  # fmt: skip
                print(f"  {name} {method:14} {shown}")
    for name, row in memory.items():
        shown = (
            row.get("error")
            or f"estimated {row['estimated_gb']:.2f} GB  measured {row['measured_gb']:.2f} GB  ratio {row['ratio']:.2f}"
        )
        print(f"  memory {name:32} {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu-results"), help="where the JSON and logs go")
    parser.add_argument("--assets", type=Path, default=REPO / ".gpu")
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--only", choices=list(SECTIONS), action="append")
    parser.add_argument("--prepare-assets", type=Path, metavar="DIR")
    parser.add_argument(
        "--model", help="a local causal LM for the 1B sections, instead of a random-weight Llama-3.2-1B"
    )
    parser.add_argument("--banking77", type=Path, default=REPO.parent / "shared" / "data" / "banking77")
    parser.add_argument("--budget", type=float, default=570, help="seconds for all sections together")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: rehearse every code path, on any device")
    parser.add_argument("--section", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DEVICE
    import torch

    DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
    if args.quick:
        globals().update(QUICK)
    if args.prepare_assets:
        prepare_assets(args.prepare_assets, args.banking77)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if args.section:
        paths = model_paths(args)
        result = SECTIONS[args.section](args, paths)
        (args.out / f"{args.section}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        return
    deadline = time.perf_counter() + args.budget
    if args.random_weights:  # built once, before the sections' clocks start
        model_paths(args)
    for name in args.only or DEFAULT_SECTIONS:
        limit = min(LIMITS[name], int(deadline - time.perf_counter()))
        if limit < 20:
            print(f"[{name}] skipped: the budget is spent", flush=True)
            continue
        print(f"[{name}]", flush=True)
        command = [sys.executable, __file__, "--section", name, "--out", str(args.out), "--assets", str(args.assets)]
        command += ["--random-weights"] if args.random_weights else []
        command += ["--quick"] if args.quick else []
        command += ["--model", args.model] if args.model else []
        started = time.perf_counter()
        try:
            done = subprocess.run(command, timeout=limit, cwd=REPO, check=False, capture_output=True, text=True)
            print(done.stdout, end="", flush=True)
            if done.returncode != 0:
                print(f"  {name} failed: {done.stderr.strip()[-1500:]}", flush=True)
            with open(args.out / "sections.log", "a", encoding="utf-8") as log:
                log.write(f"[{name}]\n{done.stdout}\n{done.stderr}\n")
        except subprocess.TimeoutExpired as exc:
            print(f"  {name}: stopped after {limit} s", flush=True)
            with open(args.out / "sections.log", "a", encoding="utf-8") as log:
                log.write(f"[{name}] timed out\n{exc.stdout!s}\n{exc.stderr!s}\n")
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    summary(args.out)


if __name__ == "__main__":
    main()
