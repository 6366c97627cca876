"""Encoded examples and their cache: reused only when nothing they depend on changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import build_config
from harness.examples import encode, load_examples_data
from tunewise.errors import DataError
from tunewise.models import resolve_model


def test_tokenisation_is_cached_until_data_or_length_change(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoTokenizer

    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path / "home"))
    path = resolve_model("minilm-l6").path
    tokenizer = AutoTokenizer.from_pretrained(path)
    config = build_config({"data": str(sentiment_data), "max_length": 32})
    first = encode(config, load_examples_data(config), tokenizer, path, 512)
    again = encode(config, load_examples_data(config), tokenizer, path, 512)
    assert not first.cache_hit and again.cache_hit
    assert again.train == first.train and again.eval == first.eval and again.label2id == {"negative": 0, "positive": 1}

    shorter = build_config({"data": str(sentiment_data), "max_length": 8})
    cut = encode(shorter, load_examples_data(shorter), tokenizer, path, 512)
    assert not cut.cache_hit and max(len(e["input_ids"]) for e in cut.train) == 8
    assert cut.truncated == len(cut.train) and any("cut at max_length 8" in w for w in cut.warnings)

    edited = tmp_path / "edited.csv"
    edited.write_text(sentiment_data.read_text().replace("wonderful", "marvellous"))
    changed = build_config({"data": str(edited), "max_length": 32})
    assert not encode(changed, load_examples_data(changed), tokenizer, path, 512).cache_hit


def test_documents_cannot_be_fine_tuned_on(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Notes\nSome text.")
    config = build_config({"data": str(folder)})
    from harness.examples import training_task

    with pytest.raises(DataError, match="index it with `tunewise rag build`"):
        training_task(config, load_examples_data(config))
