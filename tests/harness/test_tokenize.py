"""Tokenisation for training, with the real built-in tokenizers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.tokenize import IGNORE, encode_classification, encode_completion, encode_generation, label_ids
from tunewise.data.shapes import to_dataset
from tunewise.data.task import DataSpec, load_task_data, open_table
from tunewise.errors import DataError
from tunewise.models import resolve_model


@pytest.fixture(scope="module")
def chat_tokenizer(smollm2: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


def test_classification_keeps_texts_unpadded_with_integer_labels() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm-l6").path)
    data = load_task_data(DataSpec())
    mapping = label_ids(data.train.labels() or [])
    assert list(mapping) == sorted(mapping)
    encoded = encode_classification(data.train, tokenizer, mapping, max_length=16)
    assert len(encoded) == len(data.train)
    assert {len(e.input_ids) for e in encoded} != {16}  # no padding to a fixed length
    assert max(len(e.input_ids) for e in encoded) <= 16
    first = data.train.records[0]
    assert encoded[0].labels == mapping[first["label"]]
    # BERT's special tokens frame every example: the model sees what it was trained on
    assert (encoded[0].input_ids[0], encoded[0].input_ids[-1]) == (tokenizer.cls_token_id, tokenizer.sep_token_id)


def test_loss_falls_on_the_completion_only(chat_tokenizer: Any) -> None:
    messages = [{"role": "user", "content": "Translate to French: Hello"}, {"role": "assistant", "content": "Bonjour"}]
    encoded = encode_completion(messages, chat_tokenizer, max_length=256)
    assert len(encoded.input_ids) == len(encoded.labels)
    trained = [t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != IGNORE]
    assert chat_tokenizer.decode(trained).startswith("Bonjour")
    assert "Translate" not in chat_tokenizer.decode(trained)
    assert "Translate" in chat_tokenizer.decode(encoded.input_ids)


def test_long_prompts_lose_their_start_not_the_answer(chat_tokenizer: Any) -> None:
    messages = [{"role": "user", "content": "word " * 400}, {"role": "assistant", "content": "The answer."}]
    encoded = encode_completion(messages, chat_tokenizer, max_length=64)
    assert len(encoded.input_ids) == 64
    trained = [t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != IGNORE]
    assert chat_tokenizer.decode(trained).startswith("The answer.")


def test_every_generation_shape_becomes_a_conversation(chat_tokenizer: Any, tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "Capital of France?", "answer": "Paris", "context": "Paris is in France."}\n')
    encoded = encode_generation(to_dataset(open_table(str(path))), chat_tokenizer, max_length=128)
    assert "Paris is in France." in chat_tokenizer.decode(encoded[0].input_ids)
    with pytest.raises(DataError, match="instruction tuning"):
        encode_generation(load_task_data(DataSpec()).train, chat_tokenizer, 64)
