"""The untrained arms of a comparison on generation data (prompt/completion, chat, question and
answer, with or without a context): `prompting` (the conversation alone) and `rag` (the nearest
training examples, answered, shown before it). `with_examples` gives the trained `rag+lora` arm
the same retrieved examples, in training and in answering.

Both answer greedily with the local instruct model, one example at a time (so the per-example
times are the batch-1 latencies), and are scored with the shared answer metrics: exact match,
token F1 and chrF against the reference. `rag` chooses how many examples to show on a sample of
the validation slice, by token F1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rag.embed import Embedder
from rag.index import vector_search
from rag.knn import Search
from tunewise.data.protocol import FrozenSplit
from tunewise.data.shapes import Dataset, Shape, conversation, gold_answers, input_text
from tunewise.errors import DataError
from tunewise.inference import LocalLM, chat_prompt
from tunewise.metrics import answer_metrics
from tunewise.results import CANNOT_ABSORB, RunResult, later_record, one_at_a_time
from tunewise.stopwatch import Spent, Stopwatch

MAX_NEW_TOKENS = 64
EXAMPLE_CHOICES = (2, 4)  # answered examples `rag` shows, chosen on validation
CHOICE_SAMPLE = 20  # validation examples each choice is tried on, by default (a generation costs seconds)
GENERATION_SHAPES = (Shape.PROMPT_COMPLETION, Shape.CHAT, Shape.QA)


def run_answer_prompting(
    split: FrozenSplit,
    lm: LocalLM,
    test: Dataset,
    *,
    max_new_tokens: int = MAX_NEW_TOKENS,
    later: Dataset | None = None,
) -> RunResult:
    """The conversation as the data gives it (its context included), answered zero-shot; `later`:
    questions on knowledge that arrived afterwards, answered the same way (nothing to absorb)."""
    _require_generation(split)

    def answer(record: dict[str, Any]) -> str:
        return lm.generate(chat_prompt(lm.tokenizer, conversation(test.shape, record)[:-1]), max_new_tokens)

    config = {"model": lm.name, "max_new_tokens": max_new_tokens}
    result = _scored("prompting", split, test, answer, config, setup=Spent(), disk=0.0)
    if later is not None:
        result.later = later_record(
            later, [answer(r) for r in later.records], absorb_seconds=None, absorbs=CANNOT_ABSORB
        )
    return result


@dataclass
class ExampleRetriever:
    """The training examples, embedded once, and the nearest of them to any example as earlier
    turns of a conversation."""

    train: Dataset
    embedder: Embedder
    search: Search
    vectors_bytes: float
    spent: Spent  # embedding the training inputs and building the search

    @property
    def seconds(self) -> float:
        return self.spent.wall

    @classmethod
    def of(cls, train: Dataset, embedder: Embedder) -> ExampleRetriever:
        watch = Stopwatch()
        vectors = embedder.encode([input_text(train.shape, r) for r in train.records])
        search = vector_search(vectors)
        return cls(train, embedder, search, float(vectors.nbytes), watch.spent())

    def turns(
        self, shape: Shape, records: list[dict[str, Any]], shown: int, *, own: bool = False
    ) -> list[list[dict[str, str]]]:
        """For each record, its `shown` nearest training examples as user/assistant turns, nearest
        last (the model answers the way it has just answered, with no "Q:"/"A:" markers to copy).
        `own`: the records are the training examples themselves, each left out of its own turns."""
        if not records:
            return []
        queries = self.embedder.encode([input_text(shape, r) for r in records])
        _, neighbours = self.search(queries, shown + 1 if own else shown)
        found = []
        for position, row in enumerate(neighbours.tolist()):
            nearest = [i for i in row if i >= 0 and not (own and i == position)][:shown]
            found.append(
                [m for i in reversed(nearest) for m in conversation(self.train.shape, self.train.records[i])[-2:]]
            )
        return found


def with_examples(dataset: Dataset, retriever: ExampleRetriever, shown: int, *, own: bool = False) -> Dataset:
    """`dataset` as chat conversations that open with its examples' nearest training examples,
    keeping every example's id (its file and line). A model trained on these and asked the same
    way sees retrieval in training as it will in use."""
    turns = retriever.turns(dataset.shape, dataset.records, shown, own=own)
    records = [
        {"messages": [*before, *conversation(dataset.shape, record)]}
        for before, record in zip(turns, dataset.records, strict=True)
    ]
    return Dataset(dataset.source, Shape.CHAT, {"messages": "messages"}, records, dataset.table, list(dataset.indices))


def run_answer_rag(
    split: FrozenSplit,
    lm: LocalLM,
    embedder: Embedder,
    test: Dataset,
    *,
    choice_sample: int = CHOICE_SAMPLE,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> RunResult:
    """The nearest answered training examples shown first; how many chosen on validation."""
    _require_generation(split)
    watch = Stopwatch()
    retriever = ExampleRetriever.of(split.train, embedder)

    def answer(record: dict[str, Any], shown: int) -> str:
        (turns,) = retriever.turns(test.shape, [record], shown)
        return lm.generate(chat_prompt(lm.tokenizer, [*turns, *conversation(test.shape, record)[:-1]]), max_new_tokens)

    validation = split.validation_sample(choice_sample)
    gold = gold_answers(validation)
    scores = {
        shown: answer_metrics([answer(r, shown) for r in validation.records], gold)["token_f1"]
        for shown in EXAMPLE_CHOICES
    }
    chosen = max(scores, key=lambda shown: scores[shown])  # ties: fewer examples, a shorter prompt
    setup = watch.spent()
    config = {
        "model": lm.name,
        "examples_shown": chosen,
        "validation_token_f1": {str(k): v for k, v in scores.items()},
        "validation_examples": len(validation),
        "embedding_model": embedder.info.model,
        "max_new_tokens": max_new_tokens,
    }
    result = _scored("rag", split, test, lambda r: answer(r, chosen), config, setup, retriever.vectors_bytes)
    result.costs["embedding_seconds"] = retriever.seconds
    return result


def _require_generation(split: FrozenSplit) -> None:
    if split.train.shape not in GENERATION_SHAPES:
        raise DataError(
            f"{split.train.source}: these arms answer prompt/completion, chat or question/answer data, "
            f"not {split.train.shape.value} data"
        )


def _scored(
    arm: str,
    split: FrozenSplit,
    test: Dataset,
    answer: Callable[[dict[str, Any]], str],
    config: dict[str, Any],
    setup: Spent,
    disk: float,
) -> RunResult:
    predictions, timing = one_at_a_time(answer, test.records)
    return RunResult.scored(
        arm,
        test,
        predictions,
        config={**config, "test_sample": len(test), "test_size": len(split.test)},
        costs={**setup.costs(), **timing, "disk_bytes": disk},
    )
