"""The prompted arms through a served model: `prompting` (zero-shot) and `fewshot` (the nearest
training examples shown), on labelled data.

The same prompts as the local arms (`rag.prompted.TEMPLATES`, `rag.generate.few_shot_turns`),
sent as chat messages; the label is asked for by constrained output where the server allows it
(`hosted.labels`). Each choice (the template; how many examples) is made on a sample of the
validation slice, then the comparison's test sample is answered once. Calls run concurrently;
each records its tokens and latency, which give the arm's price and speed per prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hosted.labels import LabelAsker
from hosted.prices import TokenPrice
from hosted.served import Endpoint, Reply, ServedLM
from tunewise.errors import DataError
from tunewise.metrics import classification_metrics
from tunewise.probes import PromptedSignals
from tunewise.results import CANNOT_ABSORB, RunResult, later_record
from tunewise.stopwatch import Spent

if TYPE_CHECKING:
    from rag.arms import EmbeddedSplit
    from tunewise.data.protocol import FrozenSplit
    from tunewise.data.shapes import Dataset

SHOT_CHOICES = (4, 8)  # as the local `fewshot`


@dataclass(frozen=True)
class Served:
    """The served model a comparison prompts, connected, and the price of its tokens."""

    lm: ServedLM
    price: TokenPrice


Ask = Callable[[], tuple[str, Reply]]


def connect(
    endpoint: Endpoint, *, concurrency: int, usd_in: float | None, usd_out: float | None, fresh: bool = False
) -> Served:
    """The served model, checked (server, key, model: one line for what is wrong) and priced."""
    from hosted.prices import token_price
    from hosted.served import served_cache

    token_price(endpoint.model or "", hosted=endpoint.hosted, usd_in=usd_in, usd_out=usd_out)  # before any call
    lm = ServedLM(endpoint, concurrency=concurrency, cache_dir=served_cache(), fresh=fresh).connect()
    return Served(lm, token_price(lm.model, hosted=endpoint.hosted, usd_in=usd_in, usd_out=usd_out))


def messages(system: str | None, user: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def ask_all(asker: LabelAsker, asks: Sequence[Ask]) -> list[tuple[str, Reply]]:
    """Every ask, in order: the first alone (it settles how the server takes a constraint), the
    rest `concurrency` at a time."""
    if not asks:
        return []
    first = asks[0]()
    answers: dict[int, tuple[str, Reply]] = {}

    def indexed(index: int, ask: Ask) -> Callable[[], Reply]:
        def call() -> Reply:
            answers[index] = ask()
            return answers[index][1]

        return call

    asker.lm.chat_all([indexed(i, ask) for i, ask in enumerate(asks[1:])])
    return [first, *(answers[i] for i in range(len(asks) - 1))]


def served_costs(replies: list[Reply], price: TokenPrice) -> dict[str, float]:
    """Tokens and latency per call, and the price of 1,000 predictions at `price`."""
    if not replies:
        return {"seconds_per_example": 0.0, "latency_p50": 0.0, "latency_p95": 0.0}
    seconds = [reply.seconds for reply in replies]
    tokens_in = float(np.mean([reply.tokens_in for reply in replies]))
    tokens_out = float(np.mean([reply.tokens_out for reply in replies]))
    return {
        "seconds_per_example": float(np.mean(seconds)),
        "latency_p50": float(np.percentile(seconds, 50)),
        "latency_p95": float(np.percentile(seconds, 95)),
        "tokens_in_per_call": tokens_in,
        "tokens_out_per_call": tokens_out,
        "usd_per_1000": 1000 * price.usd(tokens_in, tokens_out),
    }


def _labels(split: FrozenSplit) -> list[str]:
    from tunewise.data.shapes import Shape

    if split.train.shape is not Shape.LABELLED:
        raise DataError(f"{split.train.source}: the prompted arms classify here; they need labelled examples")
    return sorted(set(split.train.labels() or []))


def _result(
    arm: str,
    test: Dataset,
    answered: list[tuple[str, Reply]],
    config: dict[str, Any],
    lm: ServedLM,
    price: TokenPrice,
    setup: float,
    disk: float,
    calls_before: dict[str, int],
) -> RunResult:
    config = config | served_config(lm, price, calls_before) | {"test_sample": len(test)}
    costs = served_costs([reply for _, reply in answered], price) | Spent.waited(setup).costs() | {"disk_bytes": disk}
    return RunResult.scored(arm, test, [label for label, _ in answered], config=config, costs=costs)


def served_config(lm: ServedLM, price: TokenPrice, calls_before: dict[str, int]) -> dict[str, Any]:
    """What every served arm's config records: the model, its price and the calls made since `calls_before`."""
    return {
        "model": lm.name,
        "served": True,
        "price": {"usd_in_per_1m": price.usd_in, "usd_out_per_1m": price.usd_out, "source": price.source},
        "calls": {key: value - calls_before[key] for key, value in lm.stats.to_dict().items()},
    }


def run_served_prompting(split: FrozenSplit, served: Served, test: Dataset, *, choice_sample: int) -> RunResult:
    """Zero-shot through the served model: the template chosen on validation, then `test` once."""
    from rag.prompted import TEMPLATES

    lm, price = served.lm, served.price
    labels = _labels(split)
    asker = LabelAsker(lm, labels)
    before = lm.stats.to_dict()
    started = time.perf_counter()
    validation = split.validation_sample(choice_sample)
    gold = [str(r["label"]) for r in validation.records]
    accuracy: dict[str, float] = {}
    for name, candidate in TEMPLATES.items():
        asks = [_asking(asker, messages(*candidate.turns(str(r["text"]), labels))) for r in validation.records]
        chosen = [label for label, _ in ask_all(asker, asks)]
        accuracy[name] = classification_metrics(gold, chosen)["accuracy"]
    template = max(accuracy, key=lambda name: accuracy[name])  # ties: the first, simplest
    setup = time.perf_counter() - started
    asks = [_asking(asker, messages(*TEMPLATES[template].turns(str(r["text"]), labels))) for r in test.records]
    config = {
        "template": template,
        "constraint": asker.way,
        "validation_accuracy": accuracy,
        "validation_examples": len(validation),
        "labels": len(labels),
    }
    return _result("prompting", test, ask_all(asker, asks), config, lm, price, setup, 0.0, before)


def run_served_fewshot(embedded: EmbeddedSplit, served: Served, test: Dataset, *, choice_sample: int) -> RunResult:
    """The nearest training examples in the prompt, the served model choosing among their labels;
    how many examples, chosen on validation."""
    from rag.generate import few_shot_turns
    from rag.index import vector_search

    lm, price = served.lm, served.price
    split = embedded.split
    labels = _labels(split)
    asker = LabelAsker(lm, labels)
    before = lm.stats.to_dict()
    started = time.perf_counter()
    train_texts, train_labels = embedded.texts["train"], embedded.labels["train"]
    search = vector_search(embedded.vectors["train"])

    def ask_for(text: str, shots: int) -> Ask:
        _, neighbours = search(embedded.embedder.encode([text]), shots)
        # Nearest last, so the most similar example sits next to the query.
        examples = [(train_texts[i], train_labels[i]) for i in reversed(neighbours[0].tolist()) if i >= 0]
        system, user, candidates = few_shot_turns(text, examples)
        return lambda: asker.ask(messages(system, user), candidates)

    validation = split.validation_sample(choice_sample)
    gold = [str(r["label"]) for r in validation.records]
    accuracy: dict[int, float] = {}
    for shots in SHOT_CHOICES:
        chosen = [label for label, _ in ask_all(asker, [ask_for(str(r["text"]), shots) for r in validation.records])]
        accuracy[shots] = classification_metrics(gold, chosen)["accuracy"]
    shots = max(accuracy, key=lambda n: accuracy[n])  # ties: the first, fewer examples
    setup = embedded.seconds["train"] + time.perf_counter() - started
    answered = ask_all(asker, [ask_for(str(r["text"]), shots) for r in test.records])
    config = {
        "shots": shots,
        "constraint": asker.way,
        "validation_accuracy": {str(n): v for n, v in accuracy.items()},
        "validation_examples": len(validation),
        "embedding_model": embedded.embedder.info.model,
    }
    disk = float(embedded.vectors["train"].nbytes)
    return _result("fewshot", test, answered, config, lm, price, setup, disk, before)


def _asking(asker: LabelAsker, turns: list[dict[str, str]]) -> Ask:
    return lambda: asker.ask(turns)


def run_served_answers(
    split: FrozenSplit, served: Served, test: Dataset, *, max_tokens: int, later: Dataset | None = None
) -> RunResult:
    """Generation data: the conversation as the data gives it (its context included), answered
    zero-shot by the served model; scored against the references like every other arm. `later`:
    questions on knowledge that arrived afterwards, answered the same way (nothing to absorb)."""
    from rag.answering import GENERATION_SHAPES
    from tunewise.data.shapes import conversation

    if split.train.shape not in GENERATION_SHAPES:
        raise DataError(f"{split.train.source}: holds {split.train.shape.value} data, not answers to generate")
    lm, price = served.lm, served.price
    before = lm.stats.to_dict()

    def answers(dataset: Dataset) -> list[Reply]:
        def call(record: dict[str, Any]) -> Callable[[], Reply]:
            turns = [{"role": m["role"], "content": m["content"]} for m in conversation(dataset.shape, record)[:-1]]
            return lambda: lm.chat(turns, max_tokens=max_tokens)

        return lm.chat_all([call(record) for record in dataset.records])

    answered = [(reply.text.strip(), reply) for reply in answers(test)]
    result = _result("prompting", test, answered, {"max_new_tokens": max_tokens}, lm, price, 0.0, 0.0, before)
    if later is not None:
        result.later = later_record(
            later, [reply.text.strip() for reply in answers(later)], absorb_seconds=None, absorbs=CANNOT_ABSORB
        )
    return result


class ServedAsker:
    """One conversation at a time to the served model, keeping every reply: what an arm that
    builds its own prompts (`rag` on documents) asks through, and prices its calls by."""

    def __init__(self, served: Served, max_tokens: int) -> None:
        self.served, self.max_tokens = served, max_tokens
        self.replies: list[Reply] = []
        self._before = served.lm.stats.to_dict()

    def __call__(self, messages: list[dict[str, str]]) -> str:
        reply = self.served.lm.chat(messages, max_tokens=self.max_tokens)
        self.replies.append(reply)
        return reply.text

    def record(self, result: RunResult) -> None:
        """The served model's name, price and calls in the arm's config; its tokens and price per
        call in its costs, over every call made (validation and test ask alike)."""
        result.config |= served_config(self.served.lm, self.served.price, self._before)
        result.costs |= served_costs(self.replies, self.served.price)
        # The set-up waited on the served model: this machine's CPU time would not show that work.
        result.costs |= Spent.waited(result.costs["setup_seconds"]).costs()


PROBE_CALLS = 20  # examples the advice asks a served model about: a minute at most, a few cents at most


def probe_served(train: Dataset, served: Served, *, calls: int = PROBE_CALLS, seed: int = 42) -> PromptedSignals:
    """The served model's zero-shot score on a seeded sample of `calls` training examples (never the
    test set), and its price per prediction: what the advice expects of prompting it."""
    from rag.answering import GENERATION_SHAPES
    from rag.prompted import TEMPLATES
    from tunewise.data.shapes import Shape, answer_token_budget, conversation, gold_answers
    from tunewise.metrics import answer_metrics, classification_metrics

    lm = served.lm
    before = lm.stats.to_dict()
    chosen = np.random.default_rng(seed).choice(len(train), size=min(calls, len(train)), replace=False)
    sample = train.subset(sorted(int(i) for i in chosen))
    if sample.shape is Shape.LABELLED:
        labels = sorted(set(train.labels() or []))
        asker = LabelAsker(lm, labels)
        template = TEMPLATES["instruction"]
        asks = [_asking(asker, messages(*template.turns(str(r["text"]), labels))) for r in sample.records]
        answered = ask_all(asker, asks)
        gold = [str(r["label"]) for r in sample.records]
        score = classification_metrics(gold, [label for label, _ in answered])["accuracy"]
        replies = [reply for _, reply in answered]
    elif sample.shape in GENERATION_SHAPES:
        budget = answer_token_budget(train)

        def call(record: dict[str, Any]) -> Callable[[], Reply]:
            turns = [{"role": m["role"], "content": m["content"]} for m in conversation(sample.shape, record)[:-1]]
            return lambda: lm.chat(turns, max_tokens=budget)

        replies = lm.chat_all([call(record) for record in sample.records])
        score = answer_metrics([reply.text.strip() for reply in replies], gold_answers(sample))["token_f1"]
    else:
        raise DataError(f"{train.source}: {train.shape.value} data has nothing to prompt for")
    made = lm.stats.to_dict()["calls"] - before["calls"]
    per_1000 = served_costs(replies, served.price).get("usd_per_1000", 0.0)
    return PromptedSignals(lm.name, score, len(sample), per_1000, made)


def run_served_answer_rag(
    split: FrozenSplit, served: Served, test: Dataset, *, choice_sample: int, max_tokens: int
) -> RunResult:
    """Generation data: the nearest answered training examples shown first, as earlier turns,
    then the conversation; how many examples, chosen on validation by token F1 (as the local `rag`)."""
    from rag.answering import EXAMPLE_CHOICES, ExampleRetriever
    from rag.embed import Embedder
    from tunewise.data.shapes import conversation, gold_answers
    from tunewise.metrics import answer_metrics

    lm, price = served.lm, served.price
    before = lm.stats.to_dict()
    started = time.perf_counter()
    retriever = ExampleRetriever.of(split.train, Embedder())

    def answers(dataset: Dataset, shown: int) -> list[Reply]:
        turns = retriever.turns(dataset.shape, dataset.records, shown)

        def call(before: list[dict[str, str]], record: dict[str, Any]) -> Callable[[], Reply]:
            messages = [
                {"role": m["role"], "content": m["content"]}
                for m in [*before, *conversation(dataset.shape, record)[:-1]]
            ]
            return lambda: lm.chat(messages, max_tokens=max_tokens)

        return lm.chat_all([call(b, r) for b, r in zip(turns, dataset.records, strict=True)])

    validation = split.validation_sample(choice_sample)
    gold = gold_answers(validation)
    scores = {
        shown: answer_metrics([reply.text.strip() for reply in answers(validation, shown)], gold)["token_f1"]
        for shown in EXAMPLE_CHOICES
    }
    chosen = max(scores, key=lambda shown: scores[shown])  # ties: fewer examples, a shorter prompt
    setup = time.perf_counter() - started
    answered = [(reply.text.strip(), reply) for reply in answers(test, chosen)]
    config = {
        "examples_shown": chosen,
        "validation_token_f1": {str(k): v for k, v in scores.items()},
        "validation_examples": len(validation),
        "embedding_model": retriever.embedder.info.model,
        "max_new_tokens": max_tokens,
    }
    result = _result("rag", test, answered, config, lm, price, setup, retriever.vectors_bytes, before)
    result.costs["embedding_seconds"] = retriever.seconds
    return result
