"""`rag` on documents: questions answered from passages of the user's documents, citing them.

Every choice is made on the validation questions, never on the test ones:
- the chunking and the retriever (dense, lexical or hybrid: `rag.passages`), by recall at the
  depths a prompt may show, the share of questions with a passage that holds the reference
  answer among those retrieved (cheap: no model);
- how many passages the prompt shows, and whether answered training questions come first as
  demonstrations of the answer's form, by token F1 of the model's answers (a generation each).

A reply cites passages as [n]; it is scored without its citations, and it is *grounded* when
every word of the answer is found in the passages it cites (in all it was shown when it cites
none). A reply that says it does not know is an abstention: scored as wrong, and counted.

Knowledge that arrives later (`Later`): after the test questions, the new documents are added to
the passages (timed: what the arm takes to absorb them) and the new questions answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.embed import Embedder
from rag.index import vector_search
from rag.passages import RETRIEVERS, Passage, Passages, RetrieverKind
from tunewise.data.documents import Later
from tunewise.data.protocol import FrozenSplit
from tunewise.data.shapes import Dataset, gold_answers, input_text
from tunewise.metrics import normalise_answer, token_f1
from tunewise.results import RunResult, later_record, one_at_a_time
from tunewise.stopwatch import Stopwatch

# (tokens, overlap) per chunk, tried in order: whole short entries, then finer windows that
# put the answer nearer the top of a long document.
CHUNKINGS = ((200, 40), (100, 20))
RECALL_DEPTHS = (1, 3, 5)
# Passages shown, and answered training questions shown first as demonstrations of the answer's
# form, each in the order of preference: another option must beat the first by more than the
# noise. One passage is the shorter prompt; demonstrations are few-shot prompting's standing
# practice (Brown et al. 2020), and on the built-in set lift token F1 from about 0.1 to 0.6.
PASSAGE_CHOICES = (1, 3)
DEMONSTRATION_CHOICES = (2, 0)
SYSTEM = (
    "Answer the question from the numbered passages, in as few words as the answer needs, and cite the "
    "passage you used like [1]. If no passage holds the answer, say: I do not know."
)
_CITATION = re.compile(r"\[(\d+)\]")
_ABSTAINS = re.compile(
    r"\b(i do not know|i don't know|i dont know|do(?:es)? not (?:contain|mention|hold|provide|say)|no passage)\b",
    re.IGNORECASE,
)

Messages = list[dict[str, str]]
Ask = Callable[[Messages], str]  # one conversation in, the model's reply out


@dataclass(frozen=True)
class Reply:
    answer: str  # without citations
    cited: list[Passage]  # the passages it cites (all it was shown when it cites none)
    abstained: bool


def holds(text: str, answer: str) -> bool:
    """Whether `text` holds `answer`, compared as the answer metrics compare (case, articles, punctuation)."""
    wanted = normalise_answer(answer)
    return bool(wanted) and f" {wanted} " in f" {normalise_answer(text)} "


def recall(found: Sequence[Sequence[Passage]], answers: Sequence[Sequence[str]], depth: int) -> float:
    """The share of questions with a passage among the first `depth` found that holds an answer."""
    if not found:
        return 0.0
    hits = sum(
        any(holds(p.text, a) for p in row[:depth] for a in gold) for row, gold in zip(found, answers, strict=True)
    )
    return hits / len(found)


def recall_table(passages: Passages, questions: Dataset) -> dict[str, dict[str, float]]:
    """recall@1/3/5 of every retriever on `questions`."""
    texts = [input_text(questions.shape, r) for r in questions.records]
    answers = gold_answers(questions)
    table: dict[str, dict[str, float]] = {}
    for kind in RETRIEVERS:
        found = passages.search(texts, max(RECALL_DEPTHS), kind)
        table[kind] = {str(depth): recall(found, answers, depth) for depth in RECALL_DEPTHS}
    return table


def parse_reply(text: str, shown: Sequence[Passage]) -> Reply:
    """The answer is the reply's first line up to its first citation (the form the prompt asks
    for: a small model often runs on with a question of its own); citations anywhere count."""
    cited_numbers = [int(n) for n in _CITATION.findall(text) if 1 <= int(n) <= len(shown)]
    cited = [shown[n - 1] for n in dict.fromkeys(cited_numbers)] or list(shown)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    answer = " ".join(_CITATION.split(first_line, maxsplit=1)[0].split()).strip(" .:")
    return Reply(answer, cited, bool(_ABSTAINS.search(text)))


def grounded(reply: Reply) -> bool:
    """Every word of the answer occurs in the passages it cites (an abstention is not grounded)."""
    words = normalise_answer(reply.answer).split()
    if reply.abstained or not words:
        return False
    cited = set(normalise_answer(" ".join(p.text for p in reply.cited)).split())
    return all(word in cited for word in words)


def passages_turn(question: str, shown: Sequence[Passage]) -> str:
    numbered = "\n\n".join(f"[{n}] {p.text}" for n, p in enumerate(shown, start=1))
    return f"{numbered}\n\nQuestion: {question}"


def documents_conversation(
    question: str, shown: Sequence[Passage], demonstrations: Sequence[Messages] = ()
) -> Messages:
    """The conversation the model answers: the instructions, any demonstrations, the passages and the question."""
    return [
        {"role": "system", "content": SYSTEM},
        *(m for d in demonstrations for m in d),
        {"role": "user", "content": passages_turn(question, shown)},
    ]


@dataclass
class DocumentRetrieval:
    """The chosen passages and retriever, with the recall of every option that was tried."""

    passages: Passages
    kind: RetrieverKind
    validation_recall: dict[str, dict[str, dict[str, float]]]  # chunking -> retriever -> depth -> recall

    @property
    def chosen(self) -> str:
        return f"{self.kind}, {self.passages.chunk_tokens}-token chunks"

    def search(self, questions: Sequence[str], k: int) -> list[list[Passage]]:
        return self.passages.search(questions, k, self.kind)


def choose_retrieval(documents: Dataset, validation: Dataset, embedder: Embedder) -> DocumentRetrieval:
    """The chunking and retriever with the best recall on the validation questions, averaged over
    the depths a prompt may show (`PASSAGE_CHOICES`: what it finds first counts most); ties go to
    the earlier of `CHUNKINGS`, then dense, lexical, hybrid."""
    best: tuple[float, Passages, RetrieverKind] | None = None
    table: dict[str, dict[str, dict[str, float]]] = {}
    for tokens, overlap in CHUNKINGS:
        passages = Passages.of(documents, embedder, tokens, overlap)
        recalls = recall_table(passages, validation)
        table[f"{tokens}/{overlap}"] = recalls
        for kind in RETRIEVERS:
            value = sum(recalls[kind][str(depth)] for depth in PASSAGE_CHOICES) / len(PASSAGE_CHOICES)
            if best is None or value > best[0]:
                best = (value, passages, kind)
        if len(passages) == len(documents):  # every document is one chunk: finer windows change nothing
            break
    assert best is not None
    return DocumentRetrieval(best[1], best[2], table)


class Demonstrations:
    """Answered training questions, each with its best passage, shown before a question as the
    form its answer should take: the nearest training questions to it, by embedding."""

    def __init__(self, train: Dataset, retrieval: DocumentRetrieval, embedder: Embedder) -> None:
        self.questions = [input_text(train.shape, r) for r in train.records]
        self.answers = [a[0] for a in gold_answers(train)]
        self.embedder = embedder
        self._search = vector_search(embedder.encode(self.questions)) if self.questions else None
        self._best = retrieval.search(self.questions, 1) if self.questions else []

    def for_questions(self, questions: Sequence[str], count: int) -> list[list[Messages]]:
        if count == 0 or self._search is None or not questions:
            return [[] for _ in questions]
        _, nearest = self._search(self.embedder.encode(list(questions)), min(count, len(self.questions)))
        shown = []
        for row in nearest.tolist():
            shown.append(
                [
                    [
                        {"role": "user", "content": passages_turn(self.questions[i], self._best[i])},
                        {"role": "assistant", "content": f"{self.answers[i]} [1]"},
                    ]
                    for i in reversed([i for i in row if i >= 0])  # the nearest last, just before the question
                ]
            )
        return shown


def run_documents_rag(
    split: FrozenSplit,
    documents: Dataset,
    ask: Ask,
    embedder: Embedder,
    test: Dataset,
    *,
    model: str,
    choice_sample: int,
    later: Later | None = None,
) -> RunResult:
    """The `rag` arm on documents: retrieval and prompt chosen on validation, the test questions
    answered once, and then, given `later`, the new documents absorbed and their questions answered."""
    watch = Stopwatch()
    retrieval = choose_retrieval(documents, split.validation, embedder)
    demonstrations = Demonstrations(split.train, retrieval, embedder)

    def answerer(dataset: Dataset, shown: int, demos: int) -> tuple[list[str], Callable[[int], Reply]]:
        questions = [input_text(dataset.shape, r) for r in dataset.records]
        found = retrieval.search(questions, shown)
        before = demonstrations.for_questions(questions, demos)

        def reply(position: int) -> Reply:
            conversation = documents_conversation(questions[position], found[position], before[position])
            return parse_reply(ask(conversation), found[position])

        return questions, reply

    def f1s(dataset: Dataset, shown: int, demos: int) -> list[float]:
        _, reply = answerer(dataset, shown, demos)
        gold = gold_answers(dataset)
        return [token_f1(reply(i).answer, gold[i]) for i in range(len(dataset))]

    validation = split.validation_sample(choice_sample)
    demo_choices = DEMONSTRATION_CHOICES if len(split.train) else (0,)
    by_passages = {shown: f1s(validation, shown, demo_choices[0]) for shown in PASSAGE_CHOICES}
    shown = within_noise_of_best(by_passages)
    by_demos = {demo_choices[0]: by_passages[shown]} | {d: f1s(validation, shown, d) for d in demo_choices[1:]}
    demos = within_noise_of_best(by_demos)
    setup = watch.spent()

    replies, timing = _answered(test, shown, demos, answerer)
    config: dict[str, Any] = {
        "model": model,
        "retriever": retrieval.kind,
        "passages_shown": shown,
        "demonstrations": demos,
        **retrieval.passages.describe(),
        "validation_recall": retrieval.validation_recall,
        "validation_token_f1": {"passages": _means(by_passages), "demonstrations": _means(by_demos)},
        "validation_examples": len(validation),
        "test_recall": recall_table(retrieval.passages, test),
        "test_sample": len(test),
        "test_size": len(split.test),
    }
    result = RunResult.scored(
        "rag",
        test,
        [r.answer for r in replies],
        config=config,
        costs={
            **setup.costs(),
            **timing,
            "disk_bytes": retrieval.passages.vector_bytes,
            "embedding_seconds": retrieval.passages.seconds,
        },
        more_metrics=_reply_metrics(replies, retrieval, test, shown),
    )
    if later is not None:
        absorb = retrieval.passages.add(later.documents)
        new_replies, _ = _answered(later.questions, shown, demos, answerer)
        result.later = later_record(
            later.questions,
            [r.answer for r in new_replies],
            absorb_seconds=absorb,
            absorbs="adds the new documents to its index",
            more_metrics=_reply_metrics(new_replies, retrieval, later.questions, shown),
        )
        result.config["later_recall"] = recall_table(retrieval.passages, later.questions)
    return result


def _answered(
    dataset: Dataset,
    shown: int,
    demos: int,
    answerer: Callable[[Dataset, int, int], tuple[list[str], Callable[[int], Reply]]],
) -> tuple[list[Reply], dict[str, float]]:
    _, reply = answerer(dataset, shown, demos)
    return one_at_a_time(reply, list(range(len(dataset))))


def _reply_metrics(
    replies: Sequence[Reply], retrieval: DocumentRetrieval, questions: Dataset, shown: int
) -> dict[str, float]:
    n = max(len(replies), 1)
    found = retrieval.search([input_text(questions.shape, r) for r in questions.records], shown)
    return {
        "grounded": sum(grounded(r) for r in replies) / n,
        "abstained": sum(r.abstained for r in replies) / n,
        "retrieval_recall": recall(found, gold_answers(questions), shown),
    }


def _means(scores: dict[int, list[float]]) -> dict[str, float]:
    return {str(k): sum(v) / max(len(v), 1) for k, v in scores.items()}


def within_noise_of_best(options: dict[int, list[float]]) -> int:
    """The first option, in order of preference, whose mean score is within one standard error of
    the best option's (the error of their paired difference): the one-standard-error rule
    (Breiman et al. 1984). On the few validation questions a generation budget allows, a
    difference of a hair is noise, and more passages confuse a small model as often as they help."""
    means = {option: sum(v) / max(len(v), 1) for option, v in options.items()}
    best = max(options, key=lambda option: means[option])
    for option, scores in options.items():
        differences = [b - a for a, b in zip(scores, options[best], strict=True)]
        n = len(differences)
        if n < 2:
            return option if means[option] >= means[best] else best
        mean = sum(differences) / n
        spread = (sum((d - mean) ** 2 for d in differences) / (n - 1)) ** 0.5
        if mean <= spread / n**0.5:
            return option
    return best
