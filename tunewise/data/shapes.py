"""Decide what the user's rows are (labelled texts, prompt/completion pairs, chats, questions
and answers, documents) and normalise them to canonical field names.

Columns are matched by name against the alias lists below, case-insensitively; the user can
map any canonical field to a column with `--columns label=category,text=utterance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tunewise.data.raw import RawTable
from tunewise.errors import DataError, listing, shorten


class Shape(str, Enum):
    LABELLED = "labelled"
    PROMPT_COMPLETION = "prompt_completion"
    CHAT = "chat"
    QA = "qa"
    DOCUMENTS = "documents"


# Canonical field -> column names that mean it, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "messages": ("messages", "conversations", "conversation", "chat"),
    "prompt": ("prompt", "instruction", "input"),
    "completion": ("completion", "response", "output"),
    "question": ("question", "query", "q"),
    "answer": ("answer", "answers", "a"),
    "context": ("context", "passage", "contexts"),
    "text": ("text", "sentence", "utterance", "content", "review", "body", "document"),
    "label": ("label", "labels", "category", "class", "intent", "target", "topic"),
    "id": ("id", "doc_id", "docno", "name"),
}

# What each shape needs and may use, in the order shapes are tried.
REQUIRED: dict[Shape, tuple[str, ...]] = {
    Shape.CHAT: ("messages",),
    Shape.PROMPT_COMPLETION: ("prompt", "completion"),
    Shape.QA: ("question", "answer"),
    Shape.LABELLED: ("text", "label"),
    Shape.DOCUMENTS: ("text",),
}
OPTIONAL: dict[Shape, tuple[str, ...]] = {
    Shape.QA: ("context",),
    Shape.DOCUMENTS: ("id",),
}
CHAT_ROLES = {"system", "user", "assistant", "tool"}


@dataclass
class Dataset:
    """Examples in canonical form, with the way back to the user's file for messages."""

    source: str
    shape: Shape
    columns: dict[str, str]  # canonical field -> the user's column
    records: list[dict[str, Any]]
    table: RawTable  # the rows as read, for locations
    indices: list[int]  # per record: its row in `table`
    empty_rows: list[int] = field(default_factory=list)  # rows of `table` left out as empty

    def __len__(self) -> int:
        return len(self.records)

    def where(self, position: int) -> str:
        """Where record `position` came from: `file:line`."""
        return self.table.where(self.indices[position])

    def subset(self, positions: list[int]) -> Dataset:
        """The records at `positions`, keeping their locations."""
        return Dataset(
            self.source,
            self.shape,
            self.columns,
            [self.records[p] for p in positions],
            self.table,
            [self.indices[p] for p in positions],
        )

    def labels(self) -> list[str] | None:
        """The label of every record, or None for shapes without labels."""
        if self.shape is not Shape.LABELLED:
            return None
        return [r["label"] for r in self.records]

    def inputs(self) -> list[str]:
        """What the model reads for each record (used for duplicates and leakage)."""
        return [input_text(self.shape, r) for r in self.records]

    def full_texts(self) -> list[str]:
        """Everything a model sees in training for each record (used for token lengths)."""
        return [full_text(self.shape, r) for r in self.records]


def input_text(shape: Shape, record: dict[str, Any]) -> str:
    if shape is Shape.PROMPT_COMPLETION:
        return str(record["prompt"])
    if shape is Shape.CHAT:
        return "\n".join(m["content"] for m in record["messages"] if m["role"] != "assistant")
    if shape is Shape.QA:
        return str(record["question"])
    return str(record["text"])


MIN_ANSWER_TOKENS, MAX_ANSWER_TOKENS = 16, 256


def answer_token_budget(dataset: Dataset) -> int:
    """New tokens every arm may generate, from the training answers alone: twice the longest
    one's words (a word is 1.3 tokens or so in English, so this leaves room) plus 8, within
    16 to 256. One budget for every arm, so that none wins by rambling less or more."""
    longest = max((len(target_text(dataset.shape, r).split()) for r in dataset.records), default=0)
    return min(max(2 * longest + 8, MIN_ANSWER_TOKENS), MAX_ANSWER_TOKENS)


def target_text(shape: Shape, record: dict[str, Any]) -> str:
    """What the model must produce for each record (its label, completion or answer)."""
    if shape is Shape.PROMPT_COMPLETION:
        return str(record["completion"])
    if shape is Shape.QA:
        return str(record["answer"])
    if shape is Shape.CHAT:
        return str(record["messages"][-1]["content"])
    if shape is Shape.LABELLED:
        return str(record["label"])
    return ""


def gold_answers(dataset: Dataset) -> list[list[str]]:
    """Each record's reference answer, as the answer metrics take them (a list per example)."""
    return [[target_text(dataset.shape, record)] for record in dataset.records]


def full_text(shape: Shape, record: dict[str, Any]) -> str:
    if shape is Shape.PROMPT_COMPLETION:
        return f"{record['prompt']}\n{record['completion']}"
    if shape is Shape.CHAT:
        return "\n".join(m["content"] for m in record["messages"])
    if shape is Shape.QA:
        parts = [record.get("context") or "", record["question"], record["answer"]]
        return "\n".join(p for p in parts if p)
    return str(record["text"])


# ---------------------------------------------------------------------------- detection


def parse_column_map(spec: str | None) -> dict[str, str]:
    """Parse `label=category,text=utterance` into {"label": "category", "text": "utterance"}."""
    mapping: dict[str, str] = {}
    if not spec:
        return mapping
    for item in spec.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise DataError(
                f"--columns: '{shorten(item.strip())}' is not FIELD=COLUMN; write e.g. --columns label=category"
            )
        key, _, column = item.partition("=")
        key, column = key.strip(), column.strip()
        if key not in ALIASES:
            raise DataError(f"--columns: unknown field '{shorten(key)}'; known fields: {', '.join(ALIASES)}")
        mapping[key] = column
    return mapping


def _find(field_name: str, columns: list[str], explicit: dict[str, str], taken: set[str]) -> str | None:
    if field_name in explicit:
        return explicit[field_name]
    lowered = {c.lower(): c for c in columns if c not in taken}
    for alias in ALIASES[field_name]:
        if alias in lowered:
            return lowered[alias]
    return None


def detect_columns(table: RawTable, explicit: dict[str, str] | None = None) -> tuple[Shape, dict[str, str]]:
    """Pick the first shape whose required fields all resolve to columns."""
    explicit = explicit or {}
    for name, column in explicit.items():
        if column not in table.columns:
            raise DataError(
                f"{table.source}: --columns maps {name} to '{shorten(column)}', which is not a column; columns are: "
                + listing(table.columns)
            )
    for shape, required in REQUIRED.items():
        taken: set[str] = set()
        found: dict[str, str] = {}
        for name in required + OPTIONAL.get(shape, ()):
            match = _find(name, table.columns, explicit, taken)
            if match is not None:
                found[name] = match
                taken.add(match)
        if all(name in found for name in required):
            if shape is Shape.PROMPT_COMPLETION and found["prompt"].lower() == "instruction":
                # Alpaca style: the prompt is the instruction followed by its optional input.
                extra = next((c for c in table.columns if c.lower() == "input" and c not in taken), None)
                if extra is not None:
                    found["input"] = extra
            return shape, found
    raise DataError(
        f"{table.source}: cannot tell what the columns mean (found: {listing(table.columns) or 'none'}); "
        "expected text+label, prompt+completion, messages, question+answer, or text; "
        "map them with --columns, e.g. --columns text=utterance,label=intent"
    )


# ---------------------------------------------------------------------------- normalisation


def to_dataset(table: RawTable, explicit: dict[str, str] | None = None) -> Dataset:
    """Normalise rows into canonical records; rows whose required fields are blank are set aside."""
    if not table.rows:
        raise DataError(f"{table.source}: the data set is empty (no rows); it needs at least one example")
    shape, columns = detect_columns(table, explicit)
    records: list[dict[str, Any]] = []
    indices: list[int] = []
    empty: list[int] = []
    required = REQUIRED[shape]
    for index, row in enumerate(table.rows):
        record = _normalise(shape, row, columns, table, index)
        if any(_blank(record.get(name)) for name in required):
            empty.append(index)
            continue
        records.append(record)
        indices.append(index)
    dataset = Dataset(table.source, shape, columns, records, table, indices, empty)
    if not records:
        detail = f" ({len(empty)} rows, all with empty {' or '.join(columns[n] for n in required)})" if empty else ""
        raise DataError(f"{table.source}: the data set is empty{detail}; it needs at least one example")
    return dataset


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _normalise(
    shape: Shape, row: dict[str, Any], columns: dict[str, str], table: RawTable, index: int
) -> dict[str, Any]:
    if shape is Shape.CHAT:
        return {"messages": _messages(row.get(columns["messages"]), columns["messages"], table, index)}
    record: dict[str, Any] = {}
    for name, column in columns.items():
        if name == "input":
            continue
        value = row.get(column)
        if name == "label":
            record[name] = _label(value, column, table, index)
        elif name == "answer" and isinstance(value, list):
            # SQuAD-style lists of acceptable answers: keep them all, the first trains.
            record[name] = _string(value[0], column, table, index) if value else None
            record["answers"] = [_string(v, column, table, index) for v in value]
        else:
            record[name] = _string(value, column, table, index)
    if "input" in columns:
        extra = _string(row.get(columns["input"]), columns["input"], table, index)
        if extra and extra.strip():
            record["prompt"] = f"{record['prompt']}\n\n{extra}"
    return record


def _string(value: Any, column: str, table: RawTable, index: int) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None  # pandas writes a missing value as NaN, in JSON and Parquet alike
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise DataError(
        f"{table.where(index)}: column '{column}' holds a {type(value).__name__}, expected text; flatten it to a string"
    )


def _label(value: Any, column: str, table: RawTable, index: int) -> str | None:
    names = table.class_names.get(column)
    if names is not None and isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(names):
            raise DataError(f"{table.where(index)}: label {value} is outside the {len(names)} class names")
        return names[value]
    text = _string(value, column, table, index)
    return text.strip() if text is not None else None


def _messages(value: Any, column: str, table: RawTable, index: int) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"{table.where(index)}: '{column}' must be a list of {{role, content}} messages")
    messages: list[dict[str, str]] = []
    for number, message in enumerate(value, start=1):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise DataError(f"{table.where(index)}: message {number} of '{column}' needs 'role' and 'content' keys")
        role, content = message["role"], message["content"]
        if role not in CHAT_ROLES:
            raise DataError(
                f"{table.where(index)}: message {number} has role '{shorten(role)}'; "
                f"use one of {', '.join(sorted(CHAT_ROLES))}"
            )
        if not isinstance(content, str):
            raise DataError(f"{table.where(index)}: message {number} content must be text")
        messages.append({"role": role, "content": content})
    if messages and messages[-1]["role"] != "assistant":
        raise DataError(
            f"{table.where(index)}: the last message must come from the assistant (it is what the model learns to say)"
        )
    return messages


def conversation(shape: Shape, record: dict[str, Any]) -> list[dict[str, str]]:
    """Any generation-shaped record as chat messages ending with the assistant's answer."""
    if shape is Shape.CHAT:
        return list(record["messages"])
    if shape is Shape.PROMPT_COMPLETION:
        return [{"role": "user", "content": record["prompt"]}, {"role": "assistant", "content": record["completion"]}]
    if shape is Shape.QA:
        question = record["question"]
        if record.get("context"):
            question = f"{record['context']}\n\nQuestion: {question}"
        return [{"role": "user", "content": question}, {"role": "assistant", "content": record["answer"]}]
    raise DataError(f"{shape.value} data cannot be used for instruction tuning; give prompt/completion or messages")
