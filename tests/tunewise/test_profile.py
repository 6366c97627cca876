"""`tunewise profile` on the built-in demo data and on real data sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, shared_path
from tunewise.data.demo import MIN_PER_TOPIC
from tunewise.data.task import DataSpec, load_task_data
from tunewise.data.tokens import count_tokens
from tunewise.models import resolve_model


def test_demo_profile(cli: Callable[..., CliResult]) -> None:
    result = cli("profile", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["task"] == "classification"
    assert report["shape"] == "labelled"
    labels = report["labels"]
    assert sum(labels.values()) == report["n_examples"] > 700
    assert min(labels.values()) >= MIN_PER_TOPIC
    assert {"ai", "trivia", "coding", "science"} <= set(labels)
    split = report["split"]
    assert split["n_train"] + split["n_eval"] == report["n_examples"]
    assert split["n_eval"] == pytest.approx(0.2 * report["n_examples"], abs=len(labels))
    assert report["token_lengths"]["model"] == "minilm-l6"
    assert report["leakage"]["exact"] == 0  # the grouped split never leaks exact copies


def test_demo_qa_profile_uses_the_chat_model_tokenizer(cli: Callable[..., CliResult]) -> None:
    result = cli("profile", "demo-qa", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["task"], report["shape"], report["labels"]) == ("qa", "qa", None)
    assert report["token_lengths"]["model"] == "smollm2-135m-instruct"


def test_banking77_profile(cli: Callable[..., CliResult]) -> None:
    train = shared_path("banking77", "train.csv")
    result = cli("profile", train, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["n_examples"] == 10_003
    assert report["task"] == "classification"
    assert report["columns"] == {"text": "text", "label": "category"}
    assert len(report["labels"]) == report["n_labels"] == 77
    categories = json.loads(shared_path("banking77", "categories.json").read_text())
    assert set(report["labels"]) == set(categories)
    assert report["labels"]["card_payment_fee_charged"] == 187


def test_banking77_with_its_test_split_reports_leakage() -> None:
    data = load_task_data(
        DataSpec(path=str(shared_path("banking77", "train.csv")), eval_path=str(shared_path("banking77", "test.csv")))
    )
    assert (len(data.train), len(data.eval)) == (10_003, 3_080)
    assert data.eval_origin == "file"
    assert data.leakage.exact > 0  # the published splits share a few verbatim questions


def test_human_output_names_the_labels(cli: Callable[..., CliResult]) -> None:
    result = cli("profile")
    assert result.code == 0
    assert "classification" in result.out
    assert "trivia" in result.out


def test_token_counts_match_the_transformers_tokenizer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    texts = ["Hello world!", "Où est la gare, s'il vous plaît?", "tokenisation " * 50]
    folder = resolve_model("minilm-l6").path
    expected = [len(ids) for ids in AutoTokenizer.from_pretrained(folder)(texts)["input_ids"]]
    assert count_tokens(texts, folder) == expected
