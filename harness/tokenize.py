"""Examples to token ids, unpadded: batches are padded later, each to its own longest example.

Classification keeps the text and an integer label. Instruction tuning renders the model's chat
template and masks every token but the answer's with -100, so that the loss falls on the
completion only: the model learns to answer, not to repeat the question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunewise.data.shapes import Dataset, Shape, conversation
from tunewise.errors import DataError
from tunewise.inference import chat_prompt

IGNORE = -100  # the label value PyTorch's cross-entropy skips


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int] | int

    def to_dict(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "attention_mask": [1] * len(self.input_ids), "labels": self.labels}


def label_ids(labels: list[str]) -> dict[str, int]:
    """A stable label -> id map (sorted names), saved with the run."""
    return {label: i for i, label in enumerate(sorted(set(labels)))}


def encode_classification(dataset: Dataset, tokenizer: Any, label2id: dict[str, int], max_length: int) -> list[Encoded]:
    if dataset.shape is not Shape.LABELLED:
        raise DataError(
            f"{dataset.source}: classification needs text and label columns, found {dataset.shape.value} data"
        )
    texts = [r["text"] for r in dataset.records]
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    out = []
    for position, (ids, record) in enumerate(zip(encoded["input_ids"], dataset.records, strict=True)):
        if record["label"] not in label2id:
            raise DataError(f"{dataset.where(position)}: label '{record['label']}' never occurs in training")
        out.append(Encoded(list(ids), label2id[record["label"]]))
    return out


def encode_completion(messages: list[dict[str, str]], tokenizer: Any, max_length: int) -> Encoded:
    """Token ids of the whole conversation; labels only on the final assistant message."""
    # The prompt is built exactly as it is at inference (`tunewise.inference.chat_prompt`).
    prompt = chat_prompt(tokenizer, messages[:-1])
    if tokenizer.chat_template:
        full = tokenizer.apply_chat_template(messages, tokenize=False)
    else:
        full = prompt + messages[-1]["content"] + (tokenizer.eos_token or "")
    if not full.startswith(prompt):
        raise DataError("the model's chat template renders the prompt differently inside the full conversation")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    # Keep the whole answer when cutting: the prompt loses its start instead.
    room = max(max_length - len(answer_ids), 0)
    prompt_ids = prompt_ids[-room:] if room else []
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + answer_ids)[:max_length]
    return Encoded(ids, labels)


def encode_generation(dataset: Dataset, tokenizer: Any, max_length: int) -> list[Encoded]:
    return [encode_completion(conversation(dataset.shape, r), tokenizer, max_length) for r in dataset.records]
