"""Retrieved examples as earlier turns of a conversation: what `rag` shows the instruct model and
what `rag+lora` trains and answers with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answering import ExampleRetriever, with_examples
from rag.embed import Embedder
from tunewise.data.formats import read_table
from tunewise.data.protocol import freeze_split, ids_of
from tunewise.data.shapes import Shape, to_dataset
from tunewise.data.task import DataSpec, load_task_data

FACTS = {
    "What is the capital of France?": "Paris",
    "What is the capital of Japan?": "Tokyo",
    "How many legs does a spider have?": "Eight",
    "How many legs does an insect have?": "Six",
    "What colour is a ripe banana?": "Yellow",
    "What colour is a ripe tomato?": "Red",
    "Which planet is closest to the sun?": "Mercury",
    "Which planet is the largest?": "Jupiter",
}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_each_example_opens_with_its_nearest_training_examples_never_its_own(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in FACTS.items()))
    train = to_dataset(read_table(path))
    retriever = ExampleRetriever.of(train, embedder)

    own = with_examples(train, retriever, 1, own=True)
    assert own.shape is Shape.CHAT and ids_of(own) == ids_of(train)
    for record, original in zip(own.records, train.records, strict=True):
        shown, asked = record["messages"][0], record["messages"][2]
        assert asked["content"] == original["question"] and record["messages"][-1]["content"] == original["answer"]
        assert shown["content"] != original["question"]  # never its own answer to copy
    by_question = {r["messages"][2]["content"]: r["messages"][0]["content"] for r in own.records}
    assert by_question["What is the capital of France?"] == "What is the capital of Japan?"
    assert by_question["How many legs does a spider have?"] == "How many legs does an insect have?"

    # A new question: its nearest examples, nearest last (just before the question itself).
    asked = train.subset([0])
    asked.records = [{"question": "What is the capital city of Japan?", "answer": "Tokyo"}]
    (turns,) = retriever.turns(asked.shape, asked.records, 2)
    assert [m["role"] for m in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[-2:] == [
        {"role": "user", "content": "What is the capital of Japan?"},
        {"role": "assistant", "content": "Tokyo"},
    ]
    assert turns[0]["content"] == "What is the capital of France?"


def test_a_split_with_examples_keeps_every_part_and_id(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": f"Say the number {i} in words.", "completion": f"number {i}"} for i in range(20)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    split = freeze_split(load_task_data(DataSpec(path=str(path), eval_fraction=0.2)), 0.25, 42)
    retriever = ExampleRetriever.of(split.train, embedder)
    for part in (split.validation, split.test):
        shown = with_examples(part, retriever, 2)
        assert ids_of(shown) == ids_of(part)
        assert all(len(r["messages"]) == 6 for r in shown.records)
        train_prompts = {r["prompt"] for r in split.train.records}
        assert all(r["messages"][0]["content"] in train_prompts for r in shown.records)
