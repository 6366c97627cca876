"""`tunewise train [CONFIG] [--set KEY=VALUE ...] [--resume]` and `tunewise merge RUN --out DIR`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import keys_help
from tunewise.metrics import metrics_line

if TYPE_CHECKING:
    from harness.callbacks import TrainProgress


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a model (full, LoRA or QLoRA) and evaluate it",
        description="Fine-tune and evaluate a model from a YAML config and/or --set overrides.",
        epilog="config keys (Hugging Face names; other tools' aliases in parentheses):\n" + keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", nargs="?", type=Path, metavar="CONFIG", help="a YAML training config (optional)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key, e.g. --set learning_rate=1e-4 (repeatable; wins over CONFIG)",
    )
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished or interrupted run in output_dir")
    parser.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    parser.set_defaults(run=run)

    merge = subparsers.add_parser(
        "merge",
        help="merge a run's LoRA adapter into its base model",
        description="Fold a LoRA (or QLoRA) adapter into its full-precision base model and save a plain model folder.",
    )
    merge.add_argument("run_dir", type=Path, metavar="RUN", help="a run folder, or an adapter folder")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write the merged model")
    merge.set_defaults(run=run_merge)


def _print_progress(progress: TrainProgress) -> None:
    if progress.event == "log" and progress.loss is not None:
        print(
            f"step {progress.step}/{progress.max_steps}  epoch {progress.epoch:.2f}  loss {progress.loss:.4f}  "
            f"{progress.elapsed:.0f}s",
            file=sys.stderr,
            flush=True,
        )
    elif progress.event == "eval":
        evaluated = {k: v for k, v in progress.eval_metrics.items() if k.startswith("eval_")}
        print(f"eval at step {progress.step}: {metrics_line(evaluated)}", file=sys.stderr, flush=True)


def _recorded(config: Any) -> Any:
    """The run registry's record of this training run (rank 0 only: one run, one row)."""
    import contextlib

    from harness import distributed
    from tunewise.registry import Recorder, data_hash

    if not distributed.is_main():
        return contextlib.nullcontext({})
    return Recorder().recording(
        "train",
        f"{config.method} on {config.data}",
        config.to_dict(),
        data_hash=data_hash(config.data, config.eval_data),
        artifact=config.output_dir,
    )


def run(args: argparse.Namespace) -> int:
    import json
    import threading

    from harness import distributed
    from harness.config import build_config, load_config
    from tui.signals import graceful_stop
    from tunewise.errors import InterruptionError

    config = load_config(args.config, args.overrides) if args.config else build_config({}, args.overrides)
    if config.output_dir and distributed.is_main():
        from harness.run_folder import RunFolder, run_inputs

        # A folder the run may not write is refused now, not after torch and the model have loaded.
        RunFolder(Path(config.output_dir)).check(overwrite=args.overwrite, inputs=run_inputs(config))
    from harness.train import train

    quiet = args.quiet or args.json
    cancel = threading.Event()

    def stopping() -> None:
        print(
            "stopping after this step with a checkpoint (press Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    from tunewise.stopwatch import Stopwatch

    with graceful_stop(cancel, stopping), _recorded(config) as record:
        watch = Stopwatch()
        outcome = train(
            config,
            resume=args.resume,
            overwrite=args.overwrite,
            on_progress=None if quiet else _print_progress,
            cancel=cancel,
            on_stage=None if quiet else (lambda text: print(f"{text}...", file=sys.stderr, flush=True)),
        )
        record |= {"metrics": dict(outcome.metrics.get("eval", {})), "artifact": str(outcome.run_dir)}
        if outcome.status == "cancelled":
            record["status"] = "interrupted"
        elif not args.resume:  # a resumed run's time is only its last part: no measure of the whole
            from advisor.calibration import RECORD

            forecast = _forecast(config.to_dict(), outcome.metrics, watch.work)
            if forecast is not None:
                record["metrics"][RECORD] = forecast
    if not distributed.is_main():
        return 0
    if outcome.status == "cancelled":
        raise InterruptionError(f"stopped with a checkpoint in {outcome.run_dir}; continue with: {_resume_command()}")
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps({"status": outcome.status, "run_dir": str(outcome.run_dir), **outcome.metrics}, indent=2))
        return 0
    print(f"run: {outcome.run_dir}")
    print(metrics_line(outcome.metrics.get("eval", {})))
    print(
        f"{outcome.metrics.get('train_samples_per_second', 0):.1f} samples/s, "
        f"{outcome.metrics.get('train_tokens_per_second', 0):.0f} tokens/s, "
        f"peak memory {outcome.metrics.get('peak_rss_bytes', 0) / 2**30:.2f} GiB"
    )
    return 0


def _forecast(config: dict[str, Any], metrics: dict[str, Any], work_seconds: float) -> dict[str, Any] | None:
    """What this run keeps for the estimator's calibration (`advisor.calibration`): the forecast
    for its resolved config on this machine, from the examples and tokens it trained on, beside
    the work it measured; None where the estimator cannot size the model."""
    from advisor.answers import build_answers
    from advisor.calibration import estimate_record
    from advisor.hardware import detect_hardware
    from advisor.projection import training_estimate
    from advisor.recommend import hardware_of
    from tunewise.errors import ConfigError

    examples = int(metrics.get("train_examples") or 0)
    epochs = float(metrics.get("epochs") or config.get("num_train_epochs") or 1.0)
    tokens = float(metrics.get("tokens_seen") or 0)
    per_example = round(tokens / (examples * epochs)) if examples and tokens else None
    resolved = config | {"max_length": metrics.get("max_length") or config.get("max_length")}
    try:
        estimate = training_estimate(
            resolved,
            n_examples=examples,
            n_labels=None,
            tokens_per_example=per_example,
            hardware=hardware_of(build_answers(detect_hardware().answers())),
        )
    except ConfigError:
        return None
    peak = float(metrics.get("peak_gpu_bytes") or metrics.get("peak_rss_bytes") or 0.0)
    return estimate_record(estimate, work_seconds, peak)


def _resume_command() -> str:
    """The command line that was run, with --resume instead of --overwrite."""
    words = [word for word in sys.argv[1:] if word not in ("--overwrite", "--resume")]
    return shlex.join(["tunewise", *words, "--resume"])


def run_merge(args: argparse.Namespace) -> int:
    from harness.predict import merge_adapter

    out = merge_adapter(args.run_dir, args.out)
    print(f"merged model: {out}")
    return 0
