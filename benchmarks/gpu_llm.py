"""Causal LMs of the sizes users bring to a GPU: `tunewise train` against a bare Trainer + peft.

Used by `bench_gpu.py`'s sections `lora-1b`, `qlora-1b`, `full-1b` and `8b`. The models are
built with random weights from the published configs of their families (a step's time and
memory do not depend on the weights), so the benchmark needs no download; `--model PATH` takes a
real local model instead. The data is instruction pairs of made-up words, long enough to pack
rows of `ROW_TOKENS` tokens.

The baseline is the script the transformers and peft docs show: the model loaded in bf16,
`get_peft_model` with the same LoRA config (for QLoRA, `BitsAndBytesConfig` and
`prepare_model_for_kbit_training`, without the gradient checkpointing it switches on unless told,
since tunewise's run does not checkpoint either), rows made by concatenating the examples and
cutting every `ROW_TOKENS`, `Trainer` with `bf16=True`, and the batch split that tunewise chose,
so that both do the same work per step. Tokens/s are counted over the second half of the steps
(warm-up and allocation left out), real tokens only.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

# Published configs of the families (config.json on the hub), what matters for speed and memory.
FAMILIES: dict[str, dict[str, Any]] = {
    "llama-3.2-1b": {
        "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
        "max_position_embeddings": 131072, "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
    },
    "qwen2.5-1.5b": {
        "model_type": "qwen2", "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
        "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
        "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
    },
    "llama-3.1-8b": {
        "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 128256,
        "max_position_embeddings": 131072, "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": False,
    },
    # --quick: every code path in seconds, on any device.
    "tiny-llama": {
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 49152,
        "max_position_embeddings": 2048, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
    },
}  # fmt: skip
MIN_PAIRS = 200
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05}
WORDS = [
    f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "ve", "zo") for b in ("n", "r", "st", "m", "")
]


def build_model(family: str, folder: Path, tokenizer_folder: Path, device: str) -> Path:
    """A random-weight model of `family`, saved with a tokenizer whose ids it can embed."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if (folder / "config.json").is_file():
        return folder
    spec = dict(FAMILIES[family])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for source in tokenizer_folder.iterdir():
        if source.is_file() and ("token" in source.name or source.suffix == ".jinja"):
            shutil.copy2(source, folder / source.name)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return folder


def write_pairs(path: Path, tokens_needed: int, seed: int = 0) -> Path:
    """Instruction pairs of made-up words, about 3 tokens a word, enough for `tokens_needed`."""
    rng = random.Random(seed)
    written = pairs = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < tokens_needed or pairs < MIN_PAIRS:  # enough for a validation slice, too
            pairs += 1
            prompt = " ".join(rng.choices(WORDS, k=rng.randint(20, 80)))
            answer = " ".join(rng.choices(WORDS, k=rng.randint(40, 160)))
            out.write(json.dumps({"prompt": f"Repeat after me: {prompt}", "completion": answer}) + "\n")
            written += 3 * (prompt.count(" ") + answer.count(" ") + 2)
    return path


def steady_tokens_per_second(steps_seen: list[tuple[int, float]], tokens_per_step: float) -> float:
    """Tokens/s over the second half of the steps."""
    half = steps_seen[len(steps_seen) // 2 :]
    if len(half) < 2:
        return 0.0
    return (half[-1][0] - half[0][0]) * tokens_per_step / max(half[-1][1] - half[0][1], 1e-9)


def tunewise_run(
    model: Path, data: Path, method: str, row_tokens: int, steps: int, out: Path, extra: dict[str, Any]
) -> dict[str, Any]:
    """`tunewise train` as a user runs it: its batch split, precision and kernels."""
    import torch

    from harness.config import build_config
    from harness.train import train

    seen: list[tuple[int, float]] = []
    stages: list[str] = []

    def record(progress: Any) -> None:
        if progress.event == "step":
            seen.append((progress.step, progress.elapsed))

    config = {
        "data": str(data), "base_model": str(model), "method": method, "packing": True, "max_length": row_tokens,
        "per_device_train_batch_size": 16, "gradient_accumulation_steps": 1, "max_steps": steps,
        "eval_generate": 0, "eval_fraction": 0.02, "save_steps": steps * 10, "save_total_limit": 1,
        "logging_steps": 1, "output_dir": str(out), "learning_rate": 2e-5 if method == "full" else 2e-4,
    } | extra  # fmt: skip
    if method != "full":
        config |= {"lora_r": LORA["r"], "lora_alpha": LORA["lora_alpha"], "lora_dropout": LORA["lora_dropout"]}
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    outcome = train(build_config(config), overwrite=True, on_progress=record, on_stage=stages.append)
    metrics, used = outcome.metrics, outcome.result.config if outcome.result else {}
    tokens_per_step = metrics["tokens_seen"] / max(metrics["steps"], 1)
    return {
        "tokens_per_second": steady_tokens_per_second(seen, tokens_per_step),
        "tokens_per_step": tokens_per_step,
        "rows": used.get("per_device_train_batch_size"),
        "accumulation": used.get("gradient_accumulation_steps"),
        "peak_gpu_gb": metrics.get("peak_gpu_bytes", 0) / 1e9,
        "packing_fill": metrics.get("packing_fill"),
        "train_examples": metrics.get("train_examples"),
        "stages": [s for s in stages if s.startswith(("batch:", "out of GPU memory"))],
    }


def bare_run(
    model: Path, data: Path, method: str, row_tokens: int, steps: int, rows: int, accumulation: int, out: Path
) -> dict[str, Any]:
    """The docs' script: Trainer + peft, the same rows and precision, nothing else."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        BitsAndBytesConfig,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        default_data_collator,
    )  # fmt: skip

    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(model)
    ids: list[int] = []
    with open(data, encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            ids += tokenizer(f"{pair['prompt']}\n{pair['completion']}")["input_ids"] + [tokenizer.eos_token_id]
    chunks = [ids[i : i + row_tokens] for i in range(0, len(ids) - row_tokens + 1, row_tokens)]
    rows_data = [{"input_ids": c, "attention_mask": [1] * row_tokens, "labels": c} for c in chunks]
    dtype = torch.bfloat16 if cuda else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype if method != "full" else torch.float32}
    if method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
        )
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    network: Any = AutoModelForCausalLM.from_pretrained(model, **kwargs)
    network.config.use_cache = False
    if method != "full":
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if method == "qlora":
            network = prepare_model_for_kbit_training(network, use_gradient_checkpointing=False)
        network = get_peft_model(
            network,
            LoraConfig(task_type="CAUSAL_LM", target_modules="all-linear", **LORA),  # type: ignore[arg-type]
        )
    seen: list[tuple[int, float]] = []
    started = time.perf_counter()

    class Steps(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if cuda:
                torch.cuda.synchronize()
            seen.append((state.global_step, time.perf_counter() - started))

    arguments = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=rows, gradient_accumulation_steps=accumulation,
        max_steps=steps, learning_rate=2e-5 if method == "full" else 2e-4, bf16=cuda, save_strategy="no",
        report_to="none", logging_strategy="no", disable_tqdm=True, use_cpu=not cuda,
    )  # fmt: skip
    trainer = Trainer(
        model=network, args=arguments, train_dataset=rows_data, data_collator=default_data_collator,
        callbacks=[Steps()],
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    result = {
        "tokens_per_second": steady_tokens_per_second(seen, rows * accumulation * row_tokens),
        "tokens_per_step": rows * accumulation * row_tokens,
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9 if cuda else 0.0,
    }
    del trainer, network
    if cuda:
        torch.cuda.empty_cache()
    return result


def estimated_gb(model: Path, method: str, row_tokens: int, rows: int, accumulation: int, examples: int) -> float:
    """The advisor's estimate of the peak for the split that ran."""
    import torch

    from advisor.estimate import Hardware
    from advisor.projection import training_estimate

    card = torch.cuda.get_device_properties(0).total_memory / 1e9 if torch.cuda.is_available() else 0.0
    config = {
        "task": "generation", "base_model": str(model), "method": method, "max_length": row_tokens,
        "per_device_train_batch_size": rows, "gradient_accumulation_steps": accumulation, "lora_r": LORA["r"],
    }  # fmt: skip
    hardware = Hardware(gpu_memory_gb=card, gpu_count=1 if card else 0)
    estimate = training_estimate(
        config, n_examples=examples, n_labels=None, tokens_per_example=row_tokens, hardware=hardware
    )
    return estimate.memory.total / 1e9


def compare(
    model: Path, data: Path, method: str, row_tokens: int, steps: int, work: Path, variants: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """tunewise (and each variant that this machine can run) against the bare baseline, one method."""
    result: dict[str, Any] = {}
    first = tunewise_run(model, data, method, row_tokens, steps, work / f"{method}-tunewise", {})
    result["tunewise"] = first
    print(f"  {method} tunewise: {first}", flush=True)
    rows, accumulation = int(first["rows"]), int(first["accumulation"])
    for name, extra in variants.items():
        try:
            row = tunewise_run(model, data, method, row_tokens, steps, work / f"{method}-{name}", extra)
        except Exception as exc:  # a kernel this machine lacks must not hide the other figures
            row = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        result[f"tunewise {name}"] = row
        print(f"  {method} tunewise {name}: {row}", flush=True)
    bare = bare_run(model, data, method, row_tokens, steps, rows, accumulation, work / f"{method}-bare")
    result["bare"] = bare
    result["vs_bare"] = first["tokens_per_second"] / max(bare["tokens_per_second"], 1e-9)
    result["estimated_gb"] = estimated_gb(
        model, method, row_tokens, rows, accumulation, int(first["train_examples"] or 1)
    )
    print(
        f"  {method} bare: {bare}; tunewise {result['vs_bare']:.2f}x; estimate {result['estimated_gb']:.1f} GB",
        flush=True,
    )
    return result
