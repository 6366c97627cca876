"""Real training runs, small enough for the default test run: each trains real steps on a CPU."""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.config import build_config
from harness.predict import classify, generate_answers, load_trained
from harness.train import train
from tests.conftest import ANSWER, CliResult
from tunewise.data.shapes import Shape
from tunewise.results import RunResult


def _config(data: Path, out: Path, **values: object) -> dict[str, object]:
    return {"data": str(data), "output_dir": str(out), **values}


def test_full_classification_run_learns_and_writes_a_complete_folder(sentiment_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = build_config(
        _config(
            sentiment_data, out, method="full", learning_rate=1e-4, num_train_epochs=3, per_device_train_batch_size=8
        )
    )
    seen: list[str] = []
    outcome = train(config, on_progress=lambda p: seen.append(p.event))
    assert outcome.status == "finished" and outcome.run_dir == out
    assert not out.with_name("run.incomplete").exists()
    names = {p.name for p in out.iterdir()}
    assert {"config.yaml", "metrics.json", "result.json", "trainer_log.jsonl", "loss.png", "model"} <= names
    assert "checkpoints" not in names

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval"]["accuracy"] >= 0.9  # two obvious classes; an untrained head scores about 0.5
    assert metrics["epochs"] == pytest.approx(3.0)
    assert len(metrics["history"]) == 3  # one evaluation per epoch
    assert metrics["best_checkpoint_step"] is not None
    assert metrics["train_tokens_per_second"] > 0 and metrics["peak_rss_bytes"] > 0
    assert {"step", "eval", "log"} <= set(seen)

    # The resolved config is what ran, with the defaults filled in.
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["method"] == "full" and saved["learning_rate"] == 1e-4 and saved["data"] == str(sentiment_data)

    # The result record scores what the predictions say, on the eval split's ids.
    result = RunResult.load(out / "result.json")
    records = outcome.result
    assert records is not None and result.eval_hash == records.eval_hash
    texts = [line for line in sentiment_data.read_text().splitlines()[1:]]
    assert len(result.predictions) == len(result.eval_ids) < len(texts)
    assert result.metrics["accuracy"] == pytest.approx(metrics["eval"]["accuracy"])

    png = (out / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (700, 400)
    log = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    assert any("loss" in entry for entry in log) and any("eval_accuracy" in entry for entry in log)

    # The saved model reloads and predicts the same labels as the run recorded.
    trained = load_trained(out)
    assert trained.task == "classification" and not trained.is_adapter
    assert set(classify(trained, ["the meal was wonderful", "the meal was dreadful"])) == {"positive", "negative"}


def test_lora_adapter_reloads_merges_and_continues(sentiment_data: Path, tmp_path: Path) -> None:
    import torch

    run = tmp_path / "lora"
    config = build_config(
        _config(sentiment_data, run, method="lora", lora_r=4, num_train_epochs=2, per_device_train_batch_size=8)
    )
    first = train(config)
    adapter = run / "model"
    assert (adapter / "adapter_config.json").is_file() and (adapter / "labels.json").is_file()
    assert first.metrics["trainable_params"] < first.metrics["total_params"] / 10
    # The new head and the encoder's pooler are trained in full and saved with the adapter: a
    # pooler left to rank-8 LoRA kept the demo's new head at the majority class.
    from safetensors import safe_open

    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as saved:
        full = {k.split("base_model.model.", 1)[-1] for k in saved.keys() if "lora_" not in k}  # noqa: SIM118 (safe_open is not iterable)
    assert full == {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}

    trained = load_trained(run)
    assert trained.is_adapter and trained.task == "classification"
    texts = ["the meal was lovely, visit 9", "the meal was awful, visit 9", "an ordinary meal"]
    batch = trained.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        adapted = trained.model(**batch).logits

    from harness.predict import merge_adapter

    merged_dir = merge_adapter(run, tmp_path / "merged")
    merged = load_trained(merged_dir)
    assert not merged.is_adapter
    with torch.inference_mode():
        folded = merged.model(**batch).logits
    torch.testing.assert_close(folded, adapted, atol=1e-4, rtol=1e-4)

    # Continuing from the adapter starts from its weights, not from a fresh adapter.
    more = build_config(
        _config(sentiment_data, tmp_path / "more", method="lora", lora_r=4, init_adapter=str(adapter), max_steps=1)
    )
    continued = train(more)
    assert continued.metrics["history"][0]["eval_accuracy"] >= first.metrics["eval"]["accuracy"] - 0.1


def test_instruction_tuning_learns_the_completion_only(fixed_answer_data: Path, tmp_path: Path, smollm2: Path) -> None:
    out = tmp_path / "sft"
    config = build_config(
        _config(
            fixed_answer_data, out, method="lora", learning_rate=2e-3, max_steps=12, per_device_train_batch_size=4,
            lora_r=8, max_length=64, eval_generate=2, max_new_tokens=8, logging_steps=4,
        )
    )  # fmt: skip
    outcome = train(config)
    metrics = outcome.metrics
    assert metrics["task"] == "generation" and metrics["base_model"] == "smollm2-135m-instruct"
    assert metrics["eval"]["loss"] < 1.0  # the shared answer is learned; the untrained model is far above
    assert metrics["eval"]["exact_match"] == 1.0
    result = RunResult.load(out / "result.json")
    assert result.predictions == [ANSWER, ANSWER]

    trained = load_trained(out)
    assert trained.task == "generation" and trained.is_adapter
    unseen = [{"prompt": "Name a thing that is blue.", "completion": ""}]
    assert generate_answers(trained.model, trained.tokenizer, Shape.PROMPT_COMPLETION, unseen, 8) == [ANSWER]


def test_cancel_keeps_a_resumable_checkpoint(sentiment_data: Path, tmp_path: Path) -> None:
    import threading

    out = tmp_path / "cancelled"
    cancel = threading.Event()

    def stop_at_step_3(progress: object) -> None:
        if getattr(progress, "step", 0) >= 3:
            cancel.set()

    config = build_config(_config(sentiment_data, out, method="lora", max_steps=20, per_device_train_batch_size=8))
    outcome = train(config, on_progress=stop_at_step_3, cancel=cancel)
    assert outcome.status == "cancelled" and not out.exists()
    assert (out.with_name("cancelled.incomplete") / "checkpoints" / "checkpoint-3" / "tunewise-complete").is_file()
    resumed = train(config, resume=True)
    assert resumed.status == "finished" and resumed.metrics["resumed_from"] == "checkpoint-3"
    assert resumed.metrics["steps"] == 20


def test_demo_topics_beat_the_majority_class(tmp_path: Path) -> None:
    """Topic classification of the built-in demo questions: the app's default path."""
    from harness.examples import load_examples_data

    config = build_config(
        {"output_dir": str(tmp_path / "demo"), "method": "full", "learning_rate": 1e-4, "num_train_epochs": 1}
    )
    outcome = train(config)
    gold = load_examples_data(config).eval.labels() or []
    majority = Counter(gold).most_common(1)[0][1] / len(gold)
    assert outcome.result is not None and len(outcome.result.predictions) == len(gold)
    assert outcome.result.metrics["accuracy"] > majority + 0.05


@pytest.mark.slow
def test_the_advisors_lora_config_for_the_demo_learns_well_beyond_the_majority_class(tmp_path: Path) -> None:
    """The config `tunewise recommend --from-data demo` hands out for LoRA, trained as given."""
    from advisor.answers import collect_answers
    from advisor.recommend import recommend
    from harness.examples import load_examples_data
    from tunewise.data.task import DataSpec

    answers, _ = collect_answers(data=DataSpec(path="demo"))
    lora = next(option for option in recommend(answers, data_path="demo").ranking if option.method == "lora")
    assert lora.hyperparameters is not None
    values = lora.hyperparameters.to_config("minilm-l6", answers.task, "demo") | {
        "method": "lora",
        "output_dir": str(tmp_path / "lora"),
    }
    config = build_config(values)
    outcome = train(config)
    gold = load_examples_data(config).eval.labels() or []
    majority = Counter(gold).most_common(1)[0][1] / len(gold)
    metrics = outcome.metrics["eval"]
    assert metrics["accuracy"] > majority + 0.25, (values, metrics)
    assert metrics["macro_f1"] > 0.4, (values, metrics)  # not a few big classes: the majority alone scores 0.03


def test_predict_command_labels_with_a_saved_adapter(
    sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "run"
    trained = cli(
        "train", "--quiet", "--set", f"data={sentiment_data}", "--set", f"output_dir={out}", "--set", "num_train_epochs=3",
        "--set", "per_device_train_batch_size=8",
    )  # fmt: skip
    assert trained.code == 0, trained.err
    settings = json.loads((out / "model" / "adapter_config.json").read_text())
    assert settings["base_model_name_or_path"] == "minilm-l6"  # portable, not a cache path
    result = cli("predict", out, "the meal was superb, visit 11", "the meal was appalling, visit 11", "--json")
    assert result.code == 0, result.err
    assert [row["output"] for row in json.loads(result.out)] == ["positive", "negative"]
    missing = cli("predict", tmp_path / "nowhere", "text")
    assert missing.code == 2 and "neither a run folder nor a model or adapter folder" in missing.err


def test_early_stopping_ends_a_run_that_stopped_improving(sentiment_data: Path, tmp_path: Path) -> None:
    # A learning rate this small leaves accuracy unchanged, so the second evaluation is no improvement.
    config = build_config(
        _config(sentiment_data, tmp_path / "early", method="full", learning_rate=1e-12, num_train_epochs=5,
                per_device_train_batch_size=16, early_stopping_patience=1)
    )  # fmt: skip
    outcome = train(config)
    assert outcome.metrics["epochs"] == pytest.approx(2.0)
    assert len(outcome.metrics["history"]) == 2 and outcome.metrics["best_checkpoint_step"] == 5
