"""The questionnaire: defaults, validation, YAML round trips and command-line flags."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest

from advisor.answers import (
    ANSWER_FIELDS,
    Answers,
    answer_warnings,
    build_answers,
    from_profile,
    read_answers_file,
    save_answers,
)
from tests.conftest import CliResult, run_subprocess
from tunewise.errors import ConfigError

REQUIRED_KEYS = {
    "task", "n_examples", "n_documents", "knowledge_changes", "one_off", "prompt_controllable", "needs_citations",
    "must_run_locally", "base_model", "model_params", "gpu_memory_gb", "gpu_count", "ram_gb", "budget_usd",
    "price_per_gpu_hour",
}  # fmt: skip


def test_the_interface_keys_exist_and_have_help() -> None:
    assert set(ANSWER_FIELDS) >= REQUIRED_KEYS
    for f in fields(Answers):
        assert len(f.metadata["help"]) > 15, f.name


def test_defaults_are_valid_and_documented() -> None:
    answers = Answers()
    assert answers.task == "classification"
    assert answers.gpu_count == 1  # derived: a GPU's memory was given
    assert Answers(gpu_memory_gb=0).gpu_count == 0


@pytest.mark.parametrize(
    "values, message",
    [
        ({"n_examples": -3}, "n_examples: -3 is negative"),
        ({"n_documents": -1}, "n_documents: -1 is negative"),
        ({"gpu_memory_gb": 0, "gpu_count": 2}, "a GPU with 0 GB"),
        ({"gpu_memory_gb": 24, "gpu_count": 0}, "gpu_count is 0"),
        ({"task": "translation"}, "task: 'translation' is not one of"),
        ({"knowledge_changes": "daily"}, "knowledge_changes"),
        ({"base_model": "llama-2-7b", "model_params": 7e9}, "not both"),
        ({"needs_citations": True}, "n_documents is 0"),
        ({"task": "generation", "n_labels": 4}, "labels belong to classification"),
        ({"price_per_gpu_hour": -1.0}, "price_per_gpu_hour"),
        ({"n_examples": 20, "n_labels": 500}, "n_labels is 500 but n_examples is 20: more labels than examples"),
        ({"n_examples": 10**30}, r"n_examples: 1e\+30 is above the maximum of 10,000,000,000"),
        ({"n_examples": 10**400}, r"n_examples: 1e\+400 is above the maximum"),
        ({"seq_len": 10**9}, "seq_len: 1,000,000,000 is above the maximum of 10,000,000 .longer than any"),
        ({"latency_ms": float("nan")}, "latency_ms: nan is not a finite number"),
        ({"budget_usd": float("inf")}, "budget_usd: inf is not a finite number"),
    ],
)
def test_impossible_answers_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Answers(**values)  # type: ignore[arg-type]


def test_labels_without_examples_are_possible_and_few_examples_per_label_are_unusual() -> None:
    assert answer_warnings(Answers(n_labels=500)) == []  # no examples yet: prompting can still classify
    assert answer_warnings(Answers(n_examples=2000, n_labels=18, tokens_per_example=40)) == []
    [warning] = answer_warnings(Answers(n_examples=20, n_labels=15))
    assert "fewer than two examples per label" in warning
    [warning] = answer_warnings(Answers(task="generation", seq_len=128, tokens_per_example=400))
    assert "tokens_per_example 400 is above seq_len 128" in warning


@pytest.mark.parametrize(
    "text, message",
    [
        ("n_examples: .nan\n", r"a\.yaml:1: n_examples: 'nan' is not a number \(NaN\)"),
        ("budget_usd: -.inf\n", r"a\.yaml:1: budget_usd: '-inf' is infinite"),
        ("task: qa\nn_examples: 1e400\n", r"a\.yaml:2: n_examples: '1e400' is infinite or too large"),
        ("model_params: 7x\n", r"a\.yaml:1: model_params: '7x' is not a number"),
        ("n_examples: " + "9" * 5000 + "\n", r"a\.yaml:1: a whole number of 5,000 digits"),
    ],
)
def test_unreadable_numbers_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_answers_file(path)


def test_yaml_round_trip(tmp_path: Path) -> None:
    original = Answers(
        task="qa", n_examples=120, n_documents=40, needs_citations=True, model_params=7e9, budget_usd=25.5
    )
    path = tmp_path / "answers.yaml"
    save_answers(original, path)
    text = path.read_text()
    assert "# answers must cite the documents they come from" in text
    assert build_answers(read_answers_file(path)) == original


def test_yaml_errors_name_the_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("task: qa\nn_exemples: 30\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:2: unknown key 'n_exemples'; did you mean 'n_examples'"):
        read_answers_file(path)
    path.write_text("task: qa\none_off: maybe\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:2: one_off: 'maybe' is not true or false"):
        read_answers_file(path)
    path.write_text("task: [qa\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:\d+: not valid YAML"):
        read_answers_file(path)


def test_numbers_accept_the_usual_spellings(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("model_params: 7e9\nn_examples: 1,200\nbudget_usd: 5k\ntask: generation\n")
    answers = build_answers(read_answers_file(path))
    assert (answers.model_params, answers.n_examples, answers.budget_usd) == (7e9, 1200, 5000.0)


def test_flags_override_the_file(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("task: generation\nn_examples: 20\n")
    result = cli("recommend", "--answers", path, "--n-examples", "5000", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["answers"]["n_examples"] == 5000


def test_profile_prefills_the_answers(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    saved = tmp_path / "saved.yaml"
    result = cli("recommend", "--from-data", "demo", "--save-answers", saved, "--json")
    assert result.code == 0, result.err
    answers = json.loads(result.out)["answers"]
    assert answers["task"] == "classification"
    assert answers["n_examples"] > 700 and answers["n_labels"] == 18
    assert build_answers(read_answers_file(saved)).n_examples == answers["n_examples"]


def test_from_profile_for_documents() -> None:
    report = {
        "task": "qa",
        "shape": "documents",
        "n_examples": 12,
        "labels": None,
        "token_lengths": {"p95": 900, "mean": 400.2},
    }
    assert from_profile(report) == {
        "task": "qa",
        "seq_len": 900,
        "tokens_per_example": 400,
        "n_documents": 12,
        "n_examples": 0,
    }


@pytest.mark.parametrize(
    "args, words",
    [
        (["--n-examples", "-5"], ["n_examples", "negative"]),
        (["--n-examples", "lots"], ["--n-examples", "not a number"]),
        (["--gpu-memory-gb", "0", "--gpu-count", "1"], ["0 GB"]),
        (
            [
                "--budget-usd",
                "0.001",
                "--task",
                "style",
                "--n-examples",
                "500",
                "--base-model",
                "llama-2-70b",
                "--gpu-memory-gb",
                "80",
            ],
            ["budget is too small"],
        ),
        (["--base-model", "acme/unheard-of"], ["acme/unheard-of", "model_params"]),
    ],
)
def test_recommend_bad_answers(args: list[str], words: list[str], cli: Callable[..., CliResult]) -> None:
    result = cli("recommend", *args)
    assert result.code == 2, result
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    for word in words:
        assert word in result.err


def test_recommend_answers_well_under_a_second() -> None:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = run_subprocess("recommend", "--task", "qa", "--n-documents", "300", "--n-examples", "800", "--json")
        timings.append(time.perf_counter() - start)
        assert result.returncode == 0, result.stderr
    assert min(timings) < 1.0, timings
