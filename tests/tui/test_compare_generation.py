"""`tunewise compare` on generation data: prompting, retrieval and a trained arm answer the same
sample of test prompts, scored by token F1, exact match and chrF, judged by a paired bootstrap."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ANSWER, CliResult


def test_untrained_generation_arms_answer_the_same_sample_and_are_judged_by_token_f1(
    fixed_answer_data: Path, tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    out = tmp_path / "comparison"
    result = cli(
        "compare", "--data", fixed_answer_data, "--arms", "prompting,rag", "--prompt-sample", "3",
        "--choice-sample", "2", "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    results = json.loads(result.out)
    assert results["task"] == "generation" and results["primary_metric"] == "token_f1"
    arms = {arm["name"]: arm for arm in results["arms"]}
    assert [arm["status"] for arm in arms.values()] == ["ok", "ok"], [arm["reason"] for arm in arms.values()]
    assert arms["prompting"]["eval_hash"] == arms["rag"]["eval_hash"] and arms["rag"]["examples"] == 3
    # Shown answered examples of the one fixed answer, the model repeats it; alone, it cannot guess it.
    assert arms["rag"]["metrics"]["token_f1"] > arms["prompting"]["metrics"]["token_f1"]
    assert arms["rag"]["metrics"]["chrf"] > 0.8, arms["rag"]["predictions"]
    for arm in arms.values():
        assert set(arm["ci95"]) == {"token_f1", "exact_match", "chrf"}
        low, high = arm["ci95"]["token_f1"]
        assert low <= arm["metrics"]["token_f1"] <= high
    report = (out / "report.md").read_text()
    assert "token F1 [95% CI]" in report and "paired bootstrap of token F1" in report


@pytest.mark.slow
def test_generation_arms_and_a_trained_arm_answer_the_same_sample_and_training_learns_the_answer(
    fixed_answer_data: Path, tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    out = tmp_path / "comparison"
    training = ["--set", "max_steps=30", "--set", "learning_rate=0.001", "--set", "per_device_train_batch_size=8"]
    result = cli(
        "compare", "--data", fixed_answer_data, "--arms", "prompting,rag,lora,rag+lora", "--prompt-sample", "4",
        "--choice-sample", "3", "--seeds", "1", *training, "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    results = json.loads(result.out)
    assert results["task"] == "generation" and results["primary_metric"] == "token_f1"
    arms = {arm["name"]: arm for arm in results["arms"]}
    assert all(arm["status"] == "ok" for arm in arms.values()), [arm["reason"] for arm in arms.values()]
    assert {arm["examples"] for arm in arms.values()} == {4}
    assert len({arm["eval_hash"] for arm in arms.values()}) == 1  # the same four prompts for every arm
    # Every training answer is the same sentence: the trained arm says it, the zero-shot model does not.
    for trained in ("lora", "rag+lora"):
        assert arms[trained]["predictions"] == [ANSWER] * 4, trained
        assert arms[trained]["metrics"]["exact_match"] == 1.0 and arms[trained]["metrics"]["chrf"] == 1.0
    # rag+lora trained on its examples' nearest neighbours as earlier turns, and answered with them.
    assert arms["rag+lora"]["config"]["examples_shown"] == 2 and arms["rag+lora"]["config"]["method"] == "lora"
    first = json.loads(Path(arms["rag+lora"]["config"]["data"]).read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"] * 3
    assert arms["rag+lora"]["cost"]["embedding_seconds"] > 0
    assert arms["prompting"]["metrics"]["token_f1"] < 0.5
    assert arms["rag"]["config"]["examples_shown"] in (2, 4)
    for arm in arms.values():
        low, high = arm["ci95"]["token_f1"]
        assert low <= arm["metrics"]["token_f1"] <= high
    assert results["verdict"]["best"] in ("lora", "rag+lora", "rag")
    report = (out / "report.md").read_text()
    assert "token F1 [95% CI]" in report and "paired bootstrap of token F1" in report
    assert (out / "report.html").read_text().count("<img") == 3  # intervals, cost, loss: no confusion matrix


@pytest.mark.slow
def test_a_trained_answer_model_is_scored_on_general_questions_against_its_base_model(
    fixed_answer_data: Path, tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    # Trained hard on one fixed answer, the model says it to everything: it forgets what it knew.
    training = ["--set", "max_steps=16", "--set", "learning_rate=0.003", "--set", "per_device_train_batch_size=8"]
    out = tmp_path / "comparison"
    result = cli(
        "compare", "--data", fixed_answer_data, "--arms", "lora", "--prompt-sample", "2", "--seeds", "1",
        "--general-sample", "6", "--no-probe", *training, "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    results = json.loads(result.out)
    general, (lora,) = results["general"], results["arms"]
    assert len(general["ids"]) == 6 and "trivia" in general["source"]
    kept = lora["general"]
    assert kept["base_model"] == "smollm2-135m-instruct" and kept["questions"] == 6
    base = general["base"][kept["base_model"]]
    assert len(base) == 6 and base != kept["predictions"]
    assert sum(ANSWER in p for p in kept["predictions"]) >= 4, kept["predictions"]
    assert kept["change"] == pytest.approx(kept["token_f1"] - kept["base_token_f1"]) and kept["change"] <= 0
    assert 0 <= kept["chrf_to_base"] < 0.5 and 0 <= kept["p_value"] <= 1
    report = (out / "report.md").read_text()
    assert "| `lora` |" in report.split("## What training cost in general")[1]


def test_an_arm_that_only_classifies_is_refused_for_generation_data(
    fixed_answer_data: Path, cli: Callable[..., CliResult]
) -> None:
    refused = cli("compare", "--data", fixed_answer_data, "--arms", "rag,head")
    assert refused.code == 2
    assert "head does not generate answers, and this data asks for them" in refused.err
