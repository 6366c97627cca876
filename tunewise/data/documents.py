"""The user's documents, and the knowledge that arrives after the arms were built.

A comparison on documents reads three things: the documents the answers draw on (`--docs`: a
folder of .txt/.md files, or rows with a text column), questions with reference answers (the
usual data: train, validation and test questions), and, optionally, documents added later with
questions only they answer (`--new-docs`, `--new-eval`). The later set is never seen while the
arms are built; each arm then takes it in its own way (an index adds it, a trained model would
train again) and is scored on it apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tunewise.data.raw import RawTable
from tunewise.data.shapes import Dataset, Shape, conversation, to_dataset
from tunewise.data.task import open_table
from tunewise.errors import DataError

QUESTION_SHAPES = (Shape.QA, Shape.PROMPT_COMPLETION, Shape.CHAT)
PASSAGE_CHARS = 1000  # about 250 tokens of English: what a model trained on documents reads at a time


@dataclass(frozen=True)
class Later:
    """Knowledge that arrives after the arms were built: new documents and questions on them."""

    documents: Dataset
    questions: Dataset


def load_documents(path: str, flag: str = "--docs") -> Dataset:
    """The documents at `path`; anything that is not a collection of texts is refused, naming `flag`."""
    dataset = to_dataset(open_table(path))
    if dataset.shape is not Shape.DOCUMENTS:
        raise DataError(
            f"{dataset.source}: {flag} takes documents (a folder of .txt/.md files, or rows with a text column and "
            f"no answers), and this holds {dataset.shape.value} data; give the questions with --data"
        )
    if not dataset.records:
        raise DataError(f"{dataset.source}: {flag} holds no documents with text")
    return dataset


def check_questions(questions: Dataset, flag: str = "--data") -> None:
    """Questions about documents need reference answers to be scored against."""
    if questions.shape not in QUESTION_SHAPES:
        raise DataError(
            f"{questions.source}: with --docs, {flag} takes questions with reference answers (question/answer, "
            f"prompt/completion or chat rows), and this holds {questions.shape.value} data"
        )


def load_later(docs: str, questions: str, like: Dataset) -> Later:
    """The later documents and the questions on them, shaped like the comparison's own questions."""
    new = to_dataset(open_table(questions))
    check_questions(new, "--new-eval")
    if new.shape is not like.shape:
        raise DataError(
            f"{new.source}: --new-eval holds {new.shape.value} data but the questions are {like.shape.value}; "
            "give both files the same columns"
        )
    if not new.records:
        raise DataError(f"{new.source}: --new-eval holds no questions")
    return Later(load_documents(docs, "--new-docs"), new)


def passages_of(text: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """`text` in pieces of whole paragraphs up to `max_chars` (a longer paragraph is cut at
    sentence ends, and a longer sentence at the limit): what a model is trained on, a piece at a time."""
    parts = [part for p in text.split("\n\n") for part in _fitting(p.strip(), max_chars)]
    return _packed(parts, max_chars, "\n\n")


def _fitting(paragraph: str, max_chars: int) -> list[str]:
    """`paragraph` whole when it fits, else its sentences packed (a sentence longer than the limit cut at it)."""
    if len(paragraph) <= max_chars:
        return [paragraph] if paragraph else []
    cut: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        cut.extend(sentence[start : start + max_chars] for start in range(0, len(sentence), max_chars))
    return _packed(cut, max_chars, " ")


def _packed(parts: list[str], max_chars: int, joiner: str) -> list[str]:
    """Consecutive `parts` joined by `joiner` into as few pieces as keep each within `max_chars`."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + len(joiner) + len(part) > max_chars:
            pieces.append(current)
            current = ""
        current = f"{current}{joiner}{part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def as_chat(dataset: Dataset, asked: list[list[dict[str, str]]] | None = None) -> Dataset:
    """`dataset`'s questions as chat records, each keeping its id (file and line); `asked`: the
    turns that ask each question instead of its own (the passages retrieval found, then it)."""
    records = []
    for position, record in enumerate(dataset.records):
        turns = conversation(dataset.shape, record)
        records.append({"messages": [*(asked[position] if asked else turns[:-1]), turns[-1]]})
    return Dataset(dataset.source, Shape.CHAT, {"messages": "messages"}, records, dataset.table, list(dataset.indices))


def with_documents(train: Dataset, documents: Dataset) -> Dataset:
    """The training questions and the documents, as one set of chat records: each piece of a
    document is the answer to being asked what that document says (named by its id, often its
    title or file name), so a model learns the text with what it is about. Each record keeps
    where it came from: a question's file and line, a document's place and piece."""
    questions = as_chat(train)
    records, sources = list(questions.records), [train.where(i) for i in range(len(train))]
    for position, record in enumerate(documents.records):
        name = str(record.get("id") or documents.where(position))
        for number, piece in enumerate(passages_of(str(record["text"])), start=1):
            ask = {"role": "user", "content": f"What does the document '{name}' say?"}
            records.append({"messages": [ask, {"role": "assistant", "content": piece}]})
            sources.append(f"{documents.where(position)} (piece {number})")
    table = RawTable(train.source, ["messages"], records, list(range(1, len(records) + 1)), "record", sources)
    return Dataset(train.source, Shape.CHAT, {"messages": "messages"}, records, table, list(range(len(records))))
