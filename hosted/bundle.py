"""A folder that SageMaker or Vertex AI runs as a custom training job, training what `tunewise train` trains.

The folder holds the entry point (`train.py`, from `harness/service_entry.py`), copies of the
`tunewise` and `harness` packages (so the job needs no tunewise release), the resolved
`config.yaml`, a `requirements.txt` pinned to the versions installed here (the services
install it over their PyTorch images), and a README with the commands that upload the data and
submit the job. Nothing here talks to either service: the commands are for the user to run.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.config import TrainConfig
from tunewise.atomic import atomic_folder
from tunewise.data.demo import is_demo
from tunewise.errors import ConfigError
from tunewise.ownership import BUNDLE, check_target

TARGETS = ("sagemaker", "vertex")
PACKAGES = ("tunewise", "harness")  # what the entry point imports; the advisor, RAG and app stay out
# Distributions the training path imports (torch comes with the services' PyTorch images).
REQUIREMENTS = (
    "transformers", "peft", "accelerate", "datasets", "tokenizers", "safetensors", "huggingface-hub",
    "numpy", "pyarrow", "pyyaml", "sacrebleu", "matplotlib", "gguf",
)  # fmt: skip
# Keys that only make sense on this machine: where files are, what the job itself decides.
LOCAL_KEYS = ("output_dir", "report_to", "init_adapter")


@dataclass(frozen=True)
class Bundle:
    folder: Path
    target: str
    data_file: str  # what to upload as the training data
    eval_file: str | None


def package_folder(package: str) -> Path:
    """Where an importable package's files are (a checkout or site-packages)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    return Path(spec.submodule_search_locations[0])


def requirements(config: TrainConfig) -> list[str]:
    names = list(REQUIREMENTS)
    if config.method == "qlora":
        names.append("bitsandbytes")
    if is_demo(config.data):
        names.append("chatterbot-corpus")
    pinned = []
    for name in names:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return pinned


def job_config(config: TrainConfig) -> dict[str, object]:
    """The config as the job reads it: data by file name (the service says where), local keys out."""
    values = {k: v for k, v in config.to_dict().items() if k not in (*LOCAL_KEYS, "aliases_used")}
    values["data"] = Path(config.data).name if Path(config.data).exists() else config.data
    if config.eval_data:
        values["eval_data"] = Path(config.eval_data).name
    return values


def _under(variable_prefix: str, rest: str) -> str:
    """A shell word: `variable_prefix` (`s3://$BUCKET/`, expanded by the shell) then `rest`, quoted.

    Every path and name in the README's commands comes from the user's files: quoted, a file
    named `my data $(touch X).csv` is one argument and runs nothing when pasted.
    """
    return variable_prefix + shlex.quote(rest)


def _local_try(target: str, data_file: str, builtin: bool) -> str:
    """The command that runs the entry point here, under the variables the service would set."""
    if target == "sagemaker":
        return "SM_MODEL_DIR=out python train.py" + ("" if builtin else " # with SM_CHANNEL_TRAIN=DIR_WITH_THE_DATA")
    return "AIP_MODEL_DIR=out python train.py" + ("" if builtin else f" --data {shlex.quote(Path(data_file).name)}")


def _readme(target: str, bundle: Path, data_file: str, eval_file: str | None, torch_version: str) -> str:
    name = bundle.name
    builtin = is_demo(data_file)  # installed with requirements.txt: nothing to upload
    nothing = f"# nothing to upload: {data_file} is a built-in data set (chatterbot-corpus, in requirements.txt)\n"
    if target == "sagemaker":
        channels = (
            ""
            if builtin
            else (
                "{'train': f's3://{bucket}/' + "
                + repr(f"{name}/train/")
                + (", 'validation': f's3://{bucket}/' + " + repr(f"{name}/validation/") if eval_file else "")
                + "}"
            )
        )
        upload = (
            nothing
            if builtin
            else f"aws s3 cp {shlex.quote(data_file)} {_under('s3://$BUCKET/', f'{name}/train/{Path(data_file).name}')}\n"
        )
        if eval_file:
            where = _under("s3://$BUCKET/", f"{name}/validation/{Path(eval_file).name}")
            upload += f"aws s3 cp {shlex.quote(eval_file)} {where}\n"
        submit = f"""```python
# python -m pip install sagemaker   (the SageMaker Python SDK)
import sagemaker
from sagemaker.pytorch import PyTorch

bucket = "YOUR-BUCKET"
estimator = PyTorch(
    entry_point="train.py",
    source_dir={str(bundle)!r},          # this folder; requirements.txt is installed in the job
    role=sagemaker.get_execution_role(),  # or an IAM role ARN
    framework_version="2.5",        # a SageMaker PyTorch image; trained here with torch {torch_version}
    py_version="py311",
    instance_type="ml.g5.xlarge",   # one NVIDIA A10G, 24 GB
    instance_count=1,
    hyperparameters={{}},           # any config key, e.g. {{"num_train_epochs": 2}}: overrides config.yaml
)
estimator.fit({channels})
```

The run folder (model/, metrics.json, result.json, loss.png) is in the job's `model.tar.gz`.
In the job, SageMaker sets `SM_CHANNEL_TRAIN`, `SM_CHANNEL_VALIDATION` and `SM_MODEL_DIR`; `train.py`
reads them."""
    else:
        data_uri = _under("gs://$BUCKET/", f"{name}/{Path(data_file).name}")
        upload = nothing if builtin else f"gcloud storage cp {shlex.quote(data_file)} {data_uri}\n"
        args = "" if builtin else f"--data={data_uri}"
        if eval_file:
            eval_uri = _under("gs://$BUCKET/", f"{name}/{Path(eval_file).name}")
            upload += f"gcloud storage cp {shlex.quote(eval_file)} {eval_uri}\n"
            args += f"{',' if args else ''}--eval-data={eval_uri}"
        args_line = f" \\\n  --args={args}" if args else ""
        spec = (
            "machine-type=g2-standard-8,accelerator-type=NVIDIA_L4,accelerator-count=1,replica-count=1,"
            "executor-image-uri=us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest,"
            f"local-package-path={bundle},script=train.py"
        )
        submit = f"""```sh
gcloud ai custom-jobs create --region="$REGION" --display-name={shlex.quote(name)} \\
  --base-output-dir={_under("gs://$BUCKET/", f"{name}/output")} \\
  --worker-pool-spec={shlex.quote(spec)}{args_line}
```

`local-package-path` packages this folder (requirements.txt included) into the job's image; the
image tag is a Vertex AI prebuilt PyTorch image (trained here with torch {torch_version}). Vertex AI
sets `AIP_MODEL_DIR` to `gs://$BUCKET/{name}/output/model/`, reached in the job through the Cloud
Storage mount at /gcs; the run folder (model/, metrics.json, result.json, loss.png) lands there."""
    return f"""# {name}: a {"SageMaker" if target == "sagemaker" else "Vertex AI"} training job

Written by `tunewise bundle`. It trains `config.yaml` with the same code as `tunewise train`
(the `tunewise` and `harness` folders here are copies of it), on the service's GPU.

## 1. Upload the data

```sh
{upload.rstrip()}
```

## 2. Submit the job

{submit}

## Try it locally first

```sh
pip install -r requirements.txt
{_local_try(target, data_file, builtin)}
```

Compare the job's `result.json` with local arms on the same split: `tunewise compare` reads run
folders (copy the model folder back, or point it at the downloaded run).
"""


def write_bundle(config: TrainConfig, target: str, out: Path) -> Bundle:
    """Write the bundle folder; all of it or nothing."""
    if target not in TARGETS:
        raise ConfigError(f"--target: '{target}' is not one of {', '.join(TARGETS)}")
    data_file = config.data if is_demo(config.data) else _data_file(config.data, "data")
    eval_file = _data_file(config.eval_data, "eval_data") if config.eval_data else None
    for package in PACKAGES:  # copying a package into a folder inside it would never end
        if out.expanduser().resolve().is_relative_to(package_folder(package).resolve()):
            raise ConfigError(f"--out: {out} is inside the {package} package that the bundle copies; write elsewhere")
    out = check_target(out, BUNDLE, flag="--out", inputs=[config.data, config.eval_data])
    _check_readable(config)
    import torch

    with atomic_folder(out, BUNDLE) as tmp:
        for package in PACKAGES:
            source = package_folder(package)
            shutil.copytree(source, tmp / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(package_folder("harness") / "service_entry.py", tmp / "train.py")
        (tmp / "config.yaml").write_text(yaml.safe_dump(job_config(config), sort_keys=False), encoding="utf-8")
        pins = requirements(config)
        (tmp / "requirements.txt").write_text(
            f"# pinned to what trained locally; torch ({torch.__version__}) comes with the service's image\n"
            + "".join(f"{pin}\n" for pin in pins),
            encoding="utf-8",
        )
        readme = _readme(target, out.expanduser().resolve(), data_file, eval_file, torch.__version__)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        BUNDLE.mark(tmp, target=target)
    return Bundle(out, target, data_file, eval_file)


def _data_file(given: str, key: str) -> str:
    """A data file the job can be given: one file on this machine (a job reads one uploaded file)."""
    path = Path(given).expanduser()
    if not path.exists():
        raise ConfigError(f"{key}: {given} does not exist; give the path of your data file (CSV, JSONL, Parquet...)")
    if not path.is_file():
        raise ConfigError(f"{key}: {given} is not a file; a job reads one uploaded data file (CSV, JSONL, Parquet...)")
    return str(path.resolve())


def _check_readable(config: TrainConfig) -> None:
    """Read the data as the job will, so that a file that is not data fails here, not in the cloud."""
    from tunewise.data.task import DataSpec, load_task_data

    load_task_data(DataSpec(path=config.data, eval_path=config.eval_data, task=config.task))
