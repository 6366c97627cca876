"""The untrained arms of a comparison on generation data (prompt/completion, chat, question and
answer, with or without a context): `prompting` (the conversation alone) and `rag` (the nearest
training examples, answered, shown before it).

Both answer greedily with the local instruct model, one example at a time (so the per-example
times are the batch-1 latencies), and are scored with the shared answer metrics: exact match,
token F1 and chrF against the reference. `rag` chooses how many examples to show on a sample of
the validation slice, by token F1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rag.embed import Embedder
from rag.index import vector_search
from tunewise.data.protocol import FrozenSplit, ids_of
from tunewise.data.shapes import Dataset, Shape, conversation, input_text, target_text
from tunewise.errors import DataError
from tunewise.inference import LocalLM, chat_prompt
from tunewise.metrics import answer_metrics
from tunewise.results import RunResult, one_at_a_time

MAX_NEW_TOKENS = 64
EXAMPLE_CHOICES = (2, 4)  # answered examples `rag` shows, chosen on validation
CHOICE_SAMPLE = 20  # validation examples each choice is tried on, by default (a generation costs seconds)
GENERATION_SHAPES = (Shape.PROMPT_COMPLETION, Shape.CHAT, Shape.QA)


def gold_answers(dataset: Dataset) -> list[list[str]]:
    return [[target_text(dataset.shape, record)] for record in dataset.records]


def run_answer_prompting(
    split: FrozenSplit, lm: LocalLM, test: Dataset, *, max_new_tokens: int = MAX_NEW_TOKENS
) -> RunResult:
    """The conversation as the data gives it (its context included), answered zero-shot."""
    _require_generation(split)

    def answer(record: dict[str, Any]) -> str:
        return lm.generate(chat_prompt(lm.tokenizer, conversation(test.shape, record)[:-1]), max_new_tokens)

    config = {"model": lm.name, "max_new_tokens": max_new_tokens}
    return _scored("prompting", split, test, answer, config, setup=0.0, disk=0.0)


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
    started = time.perf_counter()
    train = split.train
    vectors = embedder.encode([input_text(train.shape, r) for r in train.records])
    search = vector_search(vectors)
    embed_seconds = time.perf_counter() - started

    def answer(record: dict[str, Any], shown: int) -> str:
        _, neighbours = search(embedder.encode([input_text(split.test.shape, record)]), shown)
        # The examples are earlier turns of the conversation, nearest last: the model answers the
        # way it has already answered, with no "Q:"/"A:" markers to copy.
        turns = [
            message
            for i in reversed(neighbours[0].tolist())
            if i >= 0
            for message in conversation(train.shape, train.records[i])[-2:]
        ]
        return lm.generate(
            chat_prompt(lm.tokenizer, [*turns, *conversation(split.test.shape, record)[:-1]]), max_new_tokens
        )

    validation = split.validation_sample(choice_sample)
    gold = gold_answers(validation)
    scores = {
        shown: answer_metrics([answer(r, shown) for r in validation.records], gold)["token_f1"]
        for shown in EXAMPLE_CHOICES
    }
    chosen = max(scores, key=lambda shown: scores[shown])  # ties: fewer examples, a shorter prompt
    setup = time.perf_counter() - started
    config = {
        "model": lm.name,
        "examples_shown": chosen,
        "validation_token_f1": {str(k): v for k, v in scores.items()},
        "validation_examples": len(validation),
        "embedding_model": embedder.info.model,
        "max_new_tokens": max_new_tokens,
    }
    result = _scored("rag", split, test, lambda r: answer(r, chosen), config, setup, float(vectors.nbytes))
    result.costs["embedding_seconds"] = embed_seconds
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
    setup: float,
    disk: float,
) -> RunResult:
    predictions, timing = one_at_a_time(answer, test.records)
    return RunResult(
        arm=arm,
        config={**config, "test_sample": len(test), "test_size": len(split.test)},
        eval_ids=ids_of(test),
        predictions=predictions,
        metrics=answer_metrics(predictions, gold_answers(test)),
        costs={"setup_seconds": setup, **timing, "disk_bytes": disk},
    )
