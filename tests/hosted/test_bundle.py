"""Training bundles for SageMaker and Vertex AI, run locally under the variables each service sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult


def _config(tmp_path: Path, data: Path) -> Path:
    values = {"base_model": "minilm-l6", "data": str(data), "method": "lora", "lora_r": 4, "max_steps": 2,
              "per_device_train_batch_size": 8, "learning_rate": 1e-3, "output_dir": str(tmp_path / "local-run")}  # fmt: skip
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(values))
    return config


def _run_entry_point(bundle: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter started in the bundle, as the service starts it: the imports come from the
    # bundle's own copies of the packages.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=bundle,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _assert_ran_from(bundle: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(summary["code"]) == bundle / "harness"  # the bundle's copy, not this checkout


def _assert_model_landed(model_dir: Path) -> None:
    assert (model_dir / "model" / "adapter_model.safetensors").is_file()
    assert (model_dir / "model" / "labels.json").is_file()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["steps"] == 2 and 0.0 <= metrics["eval"]["accuracy"] <= 1.0


def test_a_sagemaker_bundle_trains_where_sagemaker_puts_data_and_collects_the_model(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path
) -> None:
    bundle = tmp_path / "job-sagemaker"
    made = cli("bundle", _config(tmp_path, sentiment_data), "--target", "sagemaker", "--out", bundle)
    assert made.code == 0, made.err
    assert {p.name for p in bundle.iterdir()} >= {"train.py", "config.yaml", "requirements.txt", "README.md", "harness",
                                                   "tunewise"}  # fmt: skip
    job_config = yaml.safe_load((bundle / "config.yaml").read_text())
    assert job_config["data"] == "sentiment.csv" and "output_dir" not in job_config
    pins = (bundle / "requirements.txt").read_text()
    assert "transformers==" in pins and "peft==" in pins
    readme = (bundle / "README.md").read_text()
    assert "estimator.fit(" in readme and "s3://$BUCKET/job-sagemaker/train/sentiment.csv" in readme

    # What SageMaker does: the channel's files under /opt/ml/input/data/train, hyperparameters as JSON strings.
    channel = tmp_path / "opt" / "input" / "data" / "train"
    channel.mkdir(parents=True)
    (channel / "sentiment.csv").write_bytes(sentiment_data.read_bytes())
    model_dir = tmp_path / "opt" / "model"
    env = {"SM_MODEL_DIR": str(model_dir), "SM_CHANNEL_TRAIN": str(channel), "SM_HPS": json.dumps({"max_steps": "2"})}
    done = _run_entry_point(bundle, env, "--max_steps", "2")
    _assert_ran_from(bundle, done)
    _assert_model_landed(model_dir)
    assert not (tmp_path / "local-run").exists()  # the local output_dir is not the job's


def test_a_vertex_bundle_reads_gcs_through_the_mount_and_writes_aip_model_dir(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path
) -> None:
    bundle = tmp_path / "job-vertex"
    assert cli("bundle", _config(tmp_path, sentiment_data), "--target", "vertex", "--out", bundle).code == 0
    assert "gcloud ai custom-jobs create" in (bundle / "README.md").read_text()
    mount = tmp_path / "gcs"
    (mount / "bucket" / "data").mkdir(parents=True)
    (mount / "bucket" / "data" / "sentiment.csv").write_bytes(sentiment_data.read_bytes())
    env = {"AIP_MODEL_DIR": "gs://bucket/output/model/", "TUNEWISE_GCS_MOUNT": str(mount)}
    done = _run_entry_point(bundle, env, "--data", "gs://bucket/data/sentiment.csv")
    _assert_ran_from(bundle, done)
    _assert_model_landed(mount / "bucket" / "output" / "model")


def test_bundle_refuses_what_a_job_cannot_read_and_leaves_nothing(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path
) -> None:
    folder_data = tmp_path / "docs"
    folder_data.mkdir()
    (folder_data / "a.txt").write_text("text")
    config = _config(tmp_path, folder_data)
    refused = cli("bundle", config, "--target", "vertex", "--out", tmp_path / "b")
    assert refused.code == 2 and "is not a file; a job reads one uploaded data file" in refused.err
    assert not (tmp_path / "b").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    busy = cli("bundle", _config(tmp_path, sentiment_data), "--target", "sagemaker", "--out", taken)
    assert busy.code == 2 and "already exists and is not a training job bundle written by tunewise" in busy.err
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    from hosted.bundle import package_folder

    inside = package_folder("harness") / "job-inside"
    looping = cli("bundle", _config(tmp_path, sentiment_data), "--target", "sagemaker", "--out", inside)
    assert looping.code == 2 and "inside the harness package" in looping.err and not inside.exists()


def test_a_bad_hyperparameter_in_the_job_is_one_line_naming_the_key(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path
) -> None:
    bundle = tmp_path / "job"
    assert cli("bundle", _config(tmp_path, sentiment_data), "--target", "sagemaker", "--out", bundle).code == 0
    channel = tmp_path / "train"
    channel.mkdir()
    (channel / "sentiment.csv").write_bytes(sentiment_data.read_bytes())
    env = {"SM_MODEL_DIR": str(tmp_path / "model"), "SM_CHANNEL_TRAIN": str(channel),
           "SM_HPS": json.dumps({"learning_rate": "-1"})}  # fmt: skip
    done = _run_entry_point(bundle, env)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]  # libraries may print their own notices before
    assert last.startswith("tunewise: error: learning_rate: -1.0 must be between")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("target", ["sagemaker", "vertex"])
def test_a_bundle_of_built_in_data_has_nothing_to_upload(
    cli: Callable[..., CliResult], tmp_path: Path, target: str
) -> None:
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump({"base_model": "minilm-l6", "data": "demo", "method": "lora"}))
    made = cli("bundle", config, "--target", target, "--out", tmp_path / "job")
    assert made.code == 0 and "(submit)" in made.out
    readme = (tmp_path / "job" / "README.md").read_text()
    assert "nothing to upload: demo is a built-in data set" in readme
    assert "cp demo" not in readme and "--data" not in readme and "estimator.fit({" not in readme
    assert str(tmp_path / "job") in readme  # the folder to submit, wherever the command runs
    assert "chatterbot-corpus" in (tmp_path / "job" / "requirements.txt").read_text()


@pytest.mark.parametrize("target", ["sagemaker", "vertex"])
def test_every_path_in_the_readme_commands_is_quoted(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path, target: str
) -> None:
    import shlex

    odd = tmp_path / "my data $(touch PWNED).csv"
    odd.write_bytes(sentiment_data.read_bytes())
    made = cli("bundle", _config(tmp_path, odd), "--target", target, "--out", tmp_path / "job $(id)")
    assert made.code == 0, made.err
    readme = (tmp_path / "job $(id)" / "README.md").read_text()
    blocks = readme.split("```")
    commands = "\n".join(block.removeprefix("sh\n") for block in blocks[1::2] if block.startswith("sh\n"))
    lines = [line for line in commands.replace("\\\n", " ").splitlines() if line and not line.startswith("#")]
    assert lines
    for line in lines:  # every command parses as shell words, and the file name stays one of them
        words = shlex.split(line)
        assert not any(word in ("data", "$(touch", "PWNED).csv") for word in words), line
    assert shlex.quote(str(odd)) in readme
    # pasted into a shell, the upload command runs nothing of the file name's
    upload = next(line for line in lines if " cp " in line)
    subprocess.run(["bash", "-c", "echo " + upload.split(" cp ", 1)[1]], cwd=tmp_path, check=True, capture_output=True)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"eval_data": "missing.csv"}, "eval_data: missing.csv does not exist"),
        ({"data": "/etc/passwd"}, "/etc/passwd"),
    ],
)
def test_a_bundle_checks_its_data_is_there_and_is_data(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path, change: dict[str, str], message: str
) -> None:
    config = _config(tmp_path, sentiment_data)
    values = yaml.safe_load(config.read_text()) | change
    config.write_text(yaml.safe_dump(values))
    refused = cli("bundle", config, "--target", "vertex", "--out", tmp_path / "b")
    assert refused.code == 2 and message in refused.err and len(refused.err.strip().splitlines()) == 1, refused.err
    assert not (tmp_path / "b").exists()


def test_a_bundle_never_replaces_a_symbolic_link(
    cli: Callable[..., CliResult], tmp_path: Path, sentiment_data: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    refused = cli("bundle", _config(tmp_path, sentiment_data), "--target", "vertex", "--out", tmp_path / "link")
    assert refused.code == 2 and "is a symbolic link" in refused.err
    assert (tmp_path / "link").is_symlink() and list(real.iterdir()) == []
