"""Bad training input: one line naming the file or key, exit code 2, and no run folder left behind."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult


def _sets(**values: object) -> list[str]:
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


@pytest.mark.parametrize(
    "make, values, message",
    [
        (None, {"data": "missing.csv"}, "missing.csv"),
        ("one_class", {}, "has a single class ('positive'); classification needs at least two"),
        ("sentiment", {"max_length": 1024}, "max_length: 1024 is above minilm-l6's limit of 512 positions"),
        ("answers", {"base_model": "minilm-l6"}, "base_model: 'minilm-l6' is an encoder and cannot learn to generate"),
        ("docs", {}, "a document collection has no answers to learn from"),
        ("sentiment", {"base_model": "./no/such/model"}, "model path ./no/such/model does not exist"),
        ("sentiment", {"attention": "fast"}, "attention: 'fast' is not one of sdpa, eager, flash_attention_2"),
        ("sentiment", {"liger_kernel": "true"}, "liger_kernel: true needs"),
        (
            "sentiment",
            {"target_modules": "mlp"},
            "target_modules: mlp matches no linear layer of BertForSequenceClassification",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    make: str | None,
    values: dict[str, object],
    message: str,
    tmp_path: Path,
    cli: Callable[..., CliResult],
    sentiment_data: Path,
    fixed_answer_data: Path,
) -> None:
    data: Path | None = None
    if make == "one_class":
        data = tmp_path / "one.csv"
        data.write_text("text,label\n" + "".join(f"sample {i},positive\n" for i in range(20)))
    elif make == "sentiment":
        data = sentiment_data
    elif make == "answers":
        data = fixed_answer_data
    elif make == "docs":
        data = tmp_path / "docs"
        data.mkdir()
        (data / "a.txt").write_text("Some document text about retrieval.")
    out = tmp_path / "run"
    result = cli("train", *_sets(**({"data": data} if data else {}), output_dir=out, **values))
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert lines[-1].startswith("tunewise: error:") and message in lines[-1]
    assert "Traceback" not in result.err
    assert not out.exists() and not out.with_name("run.incomplete").exists()


def test_resume_and_overwrite_protect_runs(sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "run"
    args = ["train", "--quiet", *_sets(data=sentiment_data, output_dir=out, max_steps=2)]
    nothing = cli(*args, "--resume")
    assert nothing.code == 2 and "no interrupted run at" in nothing.err
    assert cli(*args).code == 0
    again = cli(*args)
    assert again.code == 2 and "already holds a finished run; set another output_dir or pass --overwrite" in again.err
    before = (out / "metrics.json").read_text()
    assert cli(*args, "--overwrite").code == 0
    assert (out / "metrics.json").read_text() != before  # a new run (its timings differ), in the same place
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run")) == ["run"]
    # Each finished run recorded the estimator's forecast for its config beside the work it measured.
    import json

    shown = cli("runs", "list", "--kind", "train", "--json")
    forecasts = [run["metrics"]["estimate"] for run in json.loads(shown.out) if run["status"] == "ok"]
    assert len(forecasts) == 2 and all(f["method"] == "lora" and f["model"] == "minilm-l6" for f in forecasts)
    assert all(f["estimated_seconds"] > 0 and f["seconds"] > 0 and f["peak_bytes"] > 0 for f in forecasts)


def test_resume_refuses_a_changed_config(sentiment_data: Path, tmp_path: Path) -> None:
    from harness.config import build_config
    from harness.run_folder import RunFolder
    from tunewise.errors import ConfigError

    out = tmp_path / "run"
    folder = RunFolder(out)
    folder.open(build_config({"data": str(sentiment_data), "output_dir": str(out)}), resume=False, overwrite=False)
    changed = build_config({"data": str(sentiment_data), "output_dir": str(out), "learning_rate": 1e-3})
    with pytest.raises(ConfigError, match="--resume: learning_rate differ from the interrupted run's"):
        folder.open(changed, resume=True, overwrite=False)


@pytest.mark.skipif(importlib.util.find_spec("flash_attn") is not None, reason="flash-attn is installed here")
def test_flash_attention_without_its_package_is_one_line(
    sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "run"
    result = cli("train", *_sets(data=sentiment_data, output_dir=out, attention="flash_attention_2"))
    assert result.code == 2 and "Traceback" not in result.err
    assert "attention: flash_attention_2 needs the flash-attn package" in result.err.strip().splitlines()[-1]
    assert not out.exists() and not out.with_name("run.incomplete").exists()
