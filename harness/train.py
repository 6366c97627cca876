"""`train(config)`: one fine-tuning run, from the user's data to a published run folder.

The same function serves `tunewise train`, the app (through `on_progress` and `cancel`), and
multi-process launches (`torchrun`, `accelerate launch`), where the Trainer does data-parallel
work and only the first process writes the run folder.

A finished run folder holds:
    config.yaml        the resolved config
    model/             full weights, or the LoRA adapter, with the tokenizer and labels.json
    metrics.json       final eval metrics, per-evaluation history, throughput and memory
    result.json        predictions on the eval split (`tunewise.results.RunResult`)
    trainer_log.jsonl  the Trainer's log history
    loss.png           the loss curve
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import distributed
from harness.batch_fit import applied, fitted_split, halved
from harness.callbacks import CheckpointSealer, OnProgress, ProgressReporter
from harness.checkpoints import latest_sealed, remove_unsealed
from harness.config import TrainConfig, check_runnable
from harness.examples import Examples, encode, load_examples_data, training_task
from harness.kernels import training_kernels
from harness.memory import peak_rss_bytes
from harness.modeling import (
    LoadedModel,
    autocast_dtype,
    check_max_length,
    load_for_training,
    portable_base_name,
    position_limit,
    resolve_for_task,
)
from harness.packing import PackedCollator, PackedDataset
from harness.predict import MODEL_DIR, generate_answers
from harness.report import plot_loss, write_log
from harness.run_folder import RunFolder, default_output_dir, run_inputs
from tunewise.atomic import atomic_write_json
from tunewise.data.task import TaskData
from tunewise.disk_space import free_bytes, is_disk_full
from tunewise.errors import ConfigError, InterruptionError, ModelError, StorageError
from tunewise.metrics import answer_metrics, classification_metrics
from tunewise.models import ResolvedModel
from tunewise.paths import folder_size
from tunewise.results import RunResult
from tunewise.units import human_bytes

DEFAULT_LEARNING_RATES = {
    ("full", "classification"): 5e-5,
    ("full", "generation"): 2e-5,
    ("lora", "classification"): 5e-4,
    ("lora", "generation"): 2e-4,
}


@dataclass
class TrainOutcome:
    status: str  # finished or cancelled
    run_dir: Path  # the published folder, or the work folder of a cancelled run
    metrics: dict[str, Any] = field(default_factory=dict)
    result: RunResult | None = None
    warnings: list[str] = field(default_factory=list)


def learning_rate(config: TrainConfig, task: str) -> float:
    if config.learning_rate is not None:
        return config.learning_rate
    method = "full" if config.method == "full" else "lora"
    return DEFAULT_LEARNING_RATES[(method, task)]


def eval_batch_size(config: TrainConfig, task: str) -> int:
    # Generation evaluates a vocabulary-wide logit per token: keep its batches as small as training's.
    if config.per_device_eval_batch_size is not None:
        return config.per_device_eval_batch_size
    return config.per_device_train_batch_size * (2 if task == "classification" else 1)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    on_progress: OnProgress | None = None,
    cancel: threading.Event | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> TrainOutcome:
    """Train, evaluate and publish one run; `TunewiseError` for anything the user can fix."""

    def stage(text: str) -> None:
        if on_stage is not None and distributed.is_main():
            on_stage(text)

    check_runnable(config)  # this machine has what the config asks for (bitsandbytes, the adapter it continues)
    stage("reading data")
    data = load_examples_data(config)
    task = training_task(config, data)
    resolved = resolve_for_task(config, task)
    if config.max_length is not None:
        check_max_length(config.max_length, resolved)
    folder = RunFolder(Path(config.output_dir) if config.output_dir else default_output_dir(config, task))
    # Only the first process touches the folder (and holds its lock); the others learn the
    # checkpoint after the barrier.
    with folder.locked() if distributed.is_main() else contextlib.nullcontext():
        resume_from = (
            folder.open(config, resume=resume, overwrite=overwrite, inputs=run_inputs(config))
            if distributed.is_main()
            else None
        )
        try:
            return _train_in(config, task, data, resolved, folder, resume, resume_from, on_progress, cancel, stage)
        except BaseException as exc:
            if distributed.is_main():
                folder.discard_if_unresumable()  # a failure before the first checkpoint leaves nothing behind
            if isinstance(exc, KeyboardInterrupt):
                raise InterruptionError(folder.resume_hint()) from exc
            raise


def _train_in(
    config: TrainConfig,
    task: str,
    data: TaskData,
    resolved: ResolvedModel,
    folder: RunFolder,
    resume: bool,
    resume_from: Path | None,
    on_progress: OnProgress | None,
    cancel: threading.Event | None,
    stage: Callable[[str], None],
) -> TrainOutcome:
    if "mlflow" in config.report_to and not os.environ.get("MLFLOW_TRACKING_URI"):
        # One local store beside the run folders, so that `mlflow ui` shows every run together.
        # MLflow 3 keeps its file store but asks for an explicit opt-in; a set URI is the user's choice.
        os.environ["MLFLOW_TRACKING_URI"] = (folder.final.parent.resolve() / "mlruns").as_uri()
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    if "wandb" in config.report_to and not os.environ.get("WANDB_MODE") and not os.environ.get("WANDB_API_KEY"):
        # No key: log offline beside the runs; `wandb sync runs/wandb/offline-run-*` uploads later.
        os.environ["WANDB_MODE"] = "offline"
        os.environ["WANDB_DIR"] = os.environ.get("WANDB_DIR") or str(folder.final.parent.resolve())
    import torch
    from transformers import set_seed

    device_type = "cuda" if torch.cuda.is_available() and not config.use_cpu else "cpu"
    if config.liger_kernel and device_type != "cuda":  # before the model loads, not after
        raise ConfigError(
            "liger_kernel: true needs a CUDA GPU (its kernels are Triton's); set it false on this machine"
        )
    if device_type == "cpu":
        from harness.memory import limit_allocator_retention

        limit_allocator_retention()
    else:
        # This run's peak, not the highest of every run this process made before (the app runs several).
        torch.cuda.reset_peak_memory_stats()
    set_seed(config.seed)  # the new head's initial weights, too
    stage(f"loading {resolved.name} for {config.method}")
    loaded = load_for_training(config, task, resolved, _labels_of(data, task), device_type)
    stage("tokenising")
    examples = encode(config, data, loaded.tokenizer, resolved.path, position_limit(resolved.path))

    if device_type == "cuda" and config.fit_batch:
        config = _fitted_to_card(config, task, examples, stage)
    distributed.barrier()
    if resume and not distributed.is_main():
        resume_from = latest_sealed(folder.checkpoints)

    stage("training")
    started = time.perf_counter()
    retried = False
    while True:
        trainer = _build_trainer(config, task, loaded, examples, folder, device_type)
        reporter = ProgressReporter(on_progress, cancel)
        trainer.add_callback(reporter)
        sealer = CheckpointSealer()
        trainer.add_callback(sealer)
        try:
            with _full_disk_reported(folder, loaded, config.method), training_kernels(device_type):
                try:
                    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
                finally:
                    sealer.wait()  # every checkpoint is now sealed, or partial
            break
        except torch.cuda.OutOfMemoryError as exc:
            # Only the first step is retried: later, the batch that ran out is one of many that fitted,
            # and halving would change the run the checkpoints belong to.
            step = int(trainer.state.global_step)
            # Every process of a data-parallel run would have to halve together; it stops instead.
            retry = config.fit_batch and step == 0 and not retried and distributed.world_size() == 1
            smaller = halved(config) if retry else None
            _release(trainer)
            if smaller is None:
                raise _out_of_memory(config, examples.max_length, step) from exc
            stage(
                f"out of GPU memory at the first step with {config.per_device_train_batch_size} rows of up to "
                f"{examples.max_length} tokens: retrying with {smaller.per_device_train_batch_size}, "
                f"accumulating {smaller.gradient_accumulation_steps}"
            )
            config, retried = smaller, True
    train_seconds = time.perf_counter() - started
    if reporter.cancelled:
        return TrainOutcome("cancelled", folder.work, warnings=examples.warnings)

    stage("evaluating")
    digests = distributed.gather_digests(trainer.model)
    if len(set(digests)) > 1:
        raise RuntimeError(f"ranks ended with different weights ({', '.join(digests)}); the data-parallel run diverged")
    with training_kernels(device_type):
        metrics, result = _evaluate(config, task, trainer, loaded, examples, output.metrics, reporter.step_seconds)
    metrics |= {
        "train_seconds": train_seconds,
        "step_seconds": reporter.step_seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "world_size": distributed.world_size(),
        "rank_digests": digests,
        "resumed_from": str(resume_from.name) if resume_from else None,
    }
    if device_type == "cuda":
        metrics["peak_gpu_bytes"] = torch.cuda.max_memory_allocated()

    stage("saving")
    try:
        with _full_disk_reported(folder, loaded, config.method):
            # Every rank enters save_model (sharded models gather their weights there); only the
            # first writes, and only it publishes the folder.
            trainer.save_model(str(folder.work / MODEL_DIR))
            if distributed.is_main():
                _save_run(trainer, examples, folder, metrics, result, portable_base_name(resolved))
                folder.publish()
    finally:
        distributed.barrier()
    return TrainOutcome("finished", folder.final, metrics, result, examples.warnings)


def _fitted_to_card(config: TrainConfig, task: str, examples: Examples, stage: Callable[[str], None]) -> TrainConfig:
    """The config with its batch split to fill this GPU (`harness.batch_fit`), said in one line."""
    import torch

    card = float(torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory)
    # The peak is the step of the longest rows: packed rows are full, and grouping by length puts
    # the longest examples in one batch.
    split = fitted_split(
        config,
        n_examples=len(examples.train),
        tokens_per_example=examples.max_length,
        n_labels=len(examples.label2id) if examples.label2id else None,
        card_bytes=card,
    )
    if split is None:
        return config
    stage(split.said(examples.max_length))
    return applied(config, split)


def _release(trainer: Any) -> None:
    """Free what a failed first step left on the GPU, so that a smaller one can start."""
    import gc

    import torch

    trainer.model.zero_grad(set_to_none=True)
    trainer.optimizer = None
    gc.collect()
    torch.cuda.empty_cache()


def _out_of_memory(config: TrainConfig, length: int, step: int) -> ModelError:
    rows = config.per_device_train_batch_size
    return ModelError(
        f"out of GPU memory at step {step + 1} with {rows} rows of up to {length} tokens a step; set "
        "per_device_train_batch_size lower (gradient_accumulation_steps keeps the effective batch), "
        "gradient_checkpointing: true, or max_length lower"
    )


def _labels_of(data: TaskData, task: str) -> dict[str, int] | None:
    from harness.tokenize import label_ids

    return label_ids(data.train.labels() or []) if task == "classification" else None


def _build_trainer(
    config: TrainConfig, task: str, loaded: LoadedModel, examples: Examples, folder: RunFolder, device_type: str
) -> Any:
    import numpy as np
    from transformers import EarlyStoppingCallback, PrinterCallback

    from harness.collate import ListDataset, collator_for, padding_multiple
    from harness.sampling import SeededOrderTrainer
    from harness.training_arguments import training_arguments

    mixed = autocast_dtype(config, device_type)
    import torch

    by_steps = config.save_steps is not None
    best_metric = config.metric_for_best_model or ("accuracy" if task == "classification" else "eval_loss")
    args = training_arguments(
        output_dir=str(folder.checkpoints),
        learning_rate=learning_rate(config, task),
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=eval_batch_size(config, task),
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of all steps
        lr_scheduler_type=config.lr_scheduler_type,
        seed=config.seed,
        eval_strategy="steps" if by_steps else "epoch",
        save_strategy="steps" if by_steps else "epoch",
        eval_steps=config.save_steps,
        save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=best_metric,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        train_sampling_strategy="group_by_length" if config.group_by_length and not config.packing else "random",
        activation_checkpointing=config.gradient_checkpointing,
        bf16=mixed == torch.bfloat16,
        fp16=mixed == torch.float16,
        # One kernel for all parameters' AdamW update (the default from torch 2.8 on; older
        # releases would take the per-tensor loop, whose many small launches cost on a GPU).
        optim="adamw_torch_fused",
        torch_compile=config.torch_compile,
        **({"use_liger_kernel": True} if config.liger_kernel else {}),
        use_cpu=device_type == "cpu",
        ddp_backend="gloo" if device_type == "cpu" and distributed.world_size() > 1 else None,
        report_to=config.report_to or "none",
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=True,
        dataloader_pin_memory=device_type == "cuda",
        save_only_model=False,
    )
    id2label = {i: label for label, i in (examples.label2id or {}).items()}

    def preprocess_logits(logits: Any, labels: Any) -> Any:
        # Keep only the predicted ids: the eval set's logits never pile up in memory.
        return (logits[0] if isinstance(logits, tuple) else logits).argmax(dim=-1)

    def compute_metrics(prediction: Any) -> dict[str, float]:
        predicted = [id2label[int(i)] for i in np.asarray(prediction.predictions).reshape(-1)]
        gold = [id2label[int(i)] for i in np.asarray(prediction.label_ids).reshape(-1)]
        return classification_metrics(gold, predicted)

    callbacks: list[Any] = []
    if config.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    classification = task == "classification"
    # Each epoch's data order depends on (seed, epoch) only, so that `--resume` replays it exactly.
    train_set: Any = ListDataset(examples.train)
    collator = collator_for(task, loaded.tokenizer, multiple_of=padding_multiple(device_type))
    if config.packing:  # rows filled to max_length with whole examples (harness/packing.py)
        packed_collator = PackedCollator(loaded.tokenizer.pad_token_id)
        train_set, collator = PackedDataset(examples.train, examples.max_length), packed_collator
    trainer = SeededOrderTrainer(
        model=loaded.model,
        args=args,
        train_dataset=train_set,
        eval_dataset=ListDataset(examples.eval),
        data_collator=collator,
        processing_class=loaded.tokenizer,
        compute_metrics=compute_metrics if classification else None,
        preprocess_logits_for_metrics=preprocess_logits if classification else None,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # progress goes through `on_progress` instead
    for callback in trainer.callback_handler.callbacks:
        if type(callback).__name__ == "TensorBoardCallback" and callback.logging_dir is None:
            # Inside the run folder (the checkpoints folder is removed when the run finishes).
            callback.logging_dir = str(folder.work / "tensorboard")
    return trainer


def _evaluate(
    config: TrainConfig,
    task: str,
    trainer: Any,
    loaded: LoadedModel,
    examples: Examples,
    train_metrics: dict[str, Any],
    step_seconds: float,
) -> tuple[dict[str, Any], RunResult]:
    import math

    from harness.collate import ListDataset

    started = time.perf_counter()
    if task == "classification":
        prediction = trainer.predict(ListDataset(examples.eval))
        id2label = {i: label for label, i in (examples.label2id or {}).items()}
        predictions: list[Any] = [id2label[int(i)] for i in prediction.predictions.reshape(-1)]
        final = {k.removeprefix("test_"): float(v) for k, v in prediction.metrics.items() if isinstance(v, int | float)}
        eval_ids = examples.eval_ids()
    else:
        final = {k.removeprefix("eval_"): float(v) for k, v in _best_evaluation(trainer).items()}
        final["perplexity"] = math.exp(min(final["loss"], 50.0))
        limit = min(config.eval_generate, len(examples.eval))
        records = examples.eval_set.records[:limit]
        predictions = []
        if distributed.is_main():  # answers are written by the first process only
            predictions = generate_answers(
                trainer.model, loaded.tokenizer, examples.eval_set.shape, records, config.max_new_tokens
            )
        if predictions:
            final |= answer_metrics(predictions, [[t] for t in examples.eval_targets()[:limit]])
        eval_ids = examples.eval_ids()[:limit]
    inference_seconds = time.perf_counter() - started
    state = trainer.state
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    runtime = float(train_metrics.get("train_runtime", 0.0)) or 1e-9
    metrics: dict[str, Any] = {
        "task": task,
        "method": config.method,
        "base_model": loaded.resolved.name,
        "eval": final,
        "history": [e for e in state.log_history if any(k.startswith("eval_") for k in e)],
        "best_checkpoint_step": _step_of(state.best_model_checkpoint),
        "best_metric": state.best_metric,
        "epochs": float(state.epoch or 0.0),
        "steps": int(state.global_step),
        "train_examples": len(examples.train),
        "eval_examples": len(examples.eval),
        "max_length": examples.max_length,
        "tokenization_cached": examples.cache_hit,
        "train_samples_per_second": float(train_metrics.get("train_samples_per_second", 0.0)),
        "train_tokens_per_second": tokens / max(step_seconds, 1e-9),  # inside optimizer steps
        "tokens_seen": tokens,
        "trainable_params": loaded.trainable_params,
        "total_params": loaded.total_params,
        "warnings": examples.warnings,
    }
    if isinstance(trainer.train_dataset, PackedDataset):
        packed = trainer.train_dataset
        metrics |= {"packed_rows": len(packed), "packing_fill": round(packed.fill(examples.max_length), 3)}
    result = RunResult(
        arm=config.method,
        config=config.to_dict(),
        eval_ids=eval_ids,
        predictions=predictions,
        metrics={k: v for k, v in final.items() if k not in {"runtime", "samples_per_second", "steps_per_second"}},
        costs={
            "train_seconds": runtime,
            "seconds_per_example": inference_seconds / max(len(eval_ids), 1),
            "trainable_params": float(loaded.trainable_params),
        },
    )
    return metrics, result


def _best_evaluation(trainer: Any) -> dict[str, float]:
    """The logged evaluation of the checkpoint kept as best (the model now loaded): no second pass."""
    state = trainer.state
    evaluations = [e for e in state.log_history if "eval_loss" in e]
    best_step = state.best_global_step or (evaluations[-1]["step"] if evaluations else None)
    for entry in reversed(evaluations):
        if entry["step"] == best_step:
            return {k: float(v) for k, v in entry.items() if k.startswith("eval_") and isinstance(v, int | float)}
    return {k: float(v) for k, v in trainer.evaluate().items() if isinstance(v, int | float)}


def _step_of(checkpoint: str | None) -> int | None:
    if not checkpoint:
        return None
    tail = Path(checkpoint).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _save_run(
    trainer: Any, examples: Examples, folder: RunFolder, metrics: dict[str, Any], result: RunResult, base_name: str
) -> None:
    work = folder.work
    model_dir = work / MODEL_DIR
    adapter_config = model_dir / "adapter_config.json"
    if adapter_config.is_file():
        # peft records the folder it loaded; the alias or hub id finds the base on any machine.
        settings = json.loads(adapter_config.read_text(encoding="utf-8"))
        settings["base_model_name_or_path"] = base_name
        atomic_write_json(adapter_config, settings)
    if examples.label2id is not None:
        labels = sorted(examples.label2id, key=examples.label2id.__getitem__)
        atomic_write_json(model_dir / "labels.json", labels)
    metrics["model_bytes"] = folder_size(model_dir)
    result.costs["disk_bytes"] = float(metrics["model_bytes"])
    atomic_write_json(work / "metrics.json", metrics)
    result.save(work / "result.json")
    write_log(work / "trainer_log.jsonl", trainer.state.log_history)
    plot_loss(work / "loss.png", trainer.state.log_history, f"{metrics['base_model']} · {metrics['method']}")


@contextlib.contextmanager
def _full_disk_reported(folder: RunFolder, loaded: LoadedModel, method: str) -> Iterator[None]:
    """A full disk, in whichever wrapper it arrives, becomes one line that says how to go on."""
    try:
        yield
    except Exception as exc:
        error = _storage_error(exc, folder, _next_save_bytes(folder, loaded, method))
        if error is None:
            raise
        raise error from exc


def _next_save_bytes(folder: RunFolder, loaded: LoadedModel, method: str) -> int:
    """The size of the last complete checkpoint, or without one an estimate from the model's parameters."""
    last = latest_sealed(folder.checkpoints)
    if last is not None:
        return folder_size(last)
    parameters = list(loaded.model.parameters())
    trainable = [p for p in parameters if p.requires_grad]
    # A LoRA checkpoint holds the adapter (and any new head) only; AdamW keeps two moments per trainable weight.
    saved = parameters if method == "full" else trainable
    weights = sum(p.numel() * p.element_size() for p in saved)
    return int(weights + sum(2 * p.numel() * p.element_size() for p in trainable))


def _storage_error(exc: BaseException, folder: RunFolder, needed: int) -> StorageError | None:
    """The error to show for a full disk, with the partial checkpoint removed; None for any other failure."""
    if not is_disk_full(exc, folder.work, needed):
        return None
    removed = remove_unsealed(folder.checkpoints)
    shutil.rmtree(folder.work / MODEL_DIR, ignore_errors=True)  # only ever written last: partial here
    last = latest_sealed(folder.checkpoints)
    dropped = f"removed the partial {removed[-1].name}; " if removed else ""
    space = f"the next save needs about {human_bytes(needed)} and {human_bytes(free_bytes(folder.work))} is free"
    if last is None:
        return StorageError(
            f"{folder.work}: the disk filled up while writing; {dropped}no checkpoint was complete yet, so nothing "
            f"is kept; {space}: free some space, then run again"
        )
    return StorageError(
        f"{folder.work}: the disk filled up while writing; {dropped}{last.name} is kept; {space}: "
        "free some space, then rerun with --resume"
    )
