"""The entry point of a training bundle: `harness.train` under SageMaker's or Vertex AI's conventions.

`tunewise bundle` copies this file into the bundle as `train.py`, beside copies of the
`tunewise` and `harness` packages and the resolved `config.yaml`. The service runs it; it reads
where the data is and where the model must go from the variables the service sets, trains
exactly as `tunewise train` does, and copies the finished run folder (model, metrics, loss
curve) to where the service collects it.

- SageMaker: `SM_CHANNEL_TRAIN` (and `SM_CHANNEL_VALIDATION`) hold the uploaded data files;
  `SM_MODEL_DIR` is packed into model.tar.gz; hyperparameters given to the estimator arrive in
  `SM_HPS` (JSON) and override the config's keys.
- Vertex AI: `AIP_MODEL_DIR` is a gs:// folder, reached through the Cloud Storage FUSE mount at
  /gcs; the data comes from `--data`/`--eval-data` (gs:// or paths) or from
  `AIP_TRAINING_DATA_URI`/`AIP_VALIDATION_DATA_URI` when a managed dataset is attached.

Only the standard library is imported before the bundle's own packages are on the path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GCS_MOUNT = "/gcs"  # where Vertex AI mounts Cloud Storage in a training container


def local_path(uri: str) -> Path:
    """A gs:// URI as its path under the Cloud Storage FUSE mount; any other path as it is."""
    if uri.startswith("gs://"):
        return Path(os.environ.get("TUNEWISE_GCS_MOUNT", GCS_MOUNT)) / uri.removeprefix("gs://")
    return Path(uri)


def _channel_file(channel: Path, name: str) -> str:
    """The data file in a SageMaker channel: the one the config names, or the only file there."""
    if (channel / name).exists():
        return str(channel / name)
    files = [p for p in sorted(channel.iterdir()) if not p.name.startswith(".")]
    if len(files) == 1:
        return str(files[0])
    raise SystemExit(f"{channel}: expected {name} (or a single data file); found {', '.join(p.name for p in files)}")


def _hyperparameters(raw: str) -> dict[str, Any]:
    """SageMaker passes hyperparameters as JSON strings of their values."""
    values: dict[str, Any] = {}
    for key, value in json.loads(raw or "{}").items():
        try:
            values[key] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            values[key] = value
    return values


def resolve(values: dict[str, Any], args: argparse.Namespace, env: dict[str, str]) -> tuple[dict[str, Any], Path]:
    """The config for this job and the folder the model goes to, from the service's variables."""
    values = dict(values)
    data_name = Path(str(values.get("data", ""))).name
    eval_name = Path(str(values.get("eval_data") or "")).name
    if "SM_MODEL_DIR" in env:
        values.update(_hyperparameters(env.get("SM_HPS", "")))
        if env.get("SM_CHANNEL_TRAIN"):  # no channel: a built-in data set named in the config
            values["data"] = _channel_file(Path(env["SM_CHANNEL_TRAIN"]), data_name)
        if env.get("SM_CHANNEL_VALIDATION"):
            values["eval_data"] = _channel_file(Path(env["SM_CHANNEL_VALIDATION"]), eval_name)
        return values, Path(env["SM_MODEL_DIR"])
    if "AIP_MODEL_DIR" in env:
        data = args.data or env.get("AIP_TRAINING_DATA_URI")
        if data:
            values["data"] = str(local_path(data))
        elif not Path(str(values.get("data", ""))).is_absolute() and "." in data_name:
            raise SystemExit(f"no training data: upload {data_name} and pass --data gs://BUCKET/{data_name}")
        eval_data = args.eval_data or env.get("AIP_VALIDATION_DATA_URI")
        if eval_data:
            values["eval_data"] = str(local_path(eval_data))
        return values, local_path(env["AIP_MODEL_DIR"])
    raise SystemExit("neither SM_MODEL_DIR (SageMaker) nor AIP_MODEL_DIR (Vertex AI) is set: not inside a job")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the bundled config inside a managed training job.")
    parser.add_argument("--data", help="training data (gs:// URI or path); Vertex AI")
    parser.add_argument("--eval-data", help="eval data (gs:// URI or path); Vertex AI")
    args, _ = parser.parse_known_args(argv)  # SageMaker also passes its hyperparameters as flags
    sys.path.insert(0, str(HERE))
    import yaml

    import harness
    from harness.config import build_config
    from harness.train import train

    values = yaml.safe_load((HERE / "config.yaml").read_text(encoding="utf-8")) or {}
    values, model_dir = resolve(values, args, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="tunewise-job-") as scratch:
        # Train on local disk, then copy: the model folder may be a network mount that renames slowly.
        values["output_dir"] = str(Path(scratch) / "run")
        outcome = train(build_config(values, source="config.yaml"), overwrite=True)
        if outcome.status != "finished":
            print(f"training {outcome.status}", file=sys.stderr)
            return 1
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(outcome.run_dir, model_dir, dirs_exist_ok=True)
    summary = {
        "model_dir": str(model_dir),
        "code": str(Path(harness.__file__).parent),
        "eval": outcome.metrics.get("eval"),
    }
    print(json.dumps(summary, default=str))
    return 0


def run() -> int:
    """`main`, with tunewise's own errors (a bad key in the hyperparameters, unreadable data) as one line."""
    sys.path.insert(0, str(HERE))
    from tunewise.errors import TunewiseError

    try:
        return main()
    except TunewiseError as exc:
        print(f"tunewise: error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(run())
