"""The prompted arms of a comparison: `prompting` (zero-shot) and `fewshot` (retrieved examples
in the prompt), both with the local instruct model and no training.

Both classify by label likelihood: every candidate label is scored as the continuation of the
prompt and the likeliest wins, so the answer is always a valid label and never needs parsing.
Each arm makes its one choice on a sample of the validation slice (the prompt template; the
number of examples shown) and is then scored once on the comparison's test sample. An example
is answered alone, so the per-example times of the scoring pass are the batch-1 latencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.arms import EmbeddedSplit
from rag.generate import few_shot_prompt
from rag.index import vector_search
from tunewise.data.protocol import FrozenSplit
from tunewise.data.shapes import Dataset, Shape
from tunewise.errors import DataError
from tunewise.inference import LocalLM
from tunewise.metrics import classification_metrics
from tunewise.results import RunResult, one_at_a_time
from tunewise.stopwatch import Spent, Stopwatch

VALIDATION_SAMPLE = 40  # validation examples each candidate choice is tried on, by default
SHOT_CHOICES = (4, 8)  # examples shown to `fewshot`, chosen on validation


@dataclass(frozen=True)
class Template:
    """A zero-shot prompt: `{labels}` is the comma-separated label set, `{text}` the example."""

    system: str | None
    user: str

    def prompt(self, lm: LocalLM, text: str, labels: list[str]) -> str:
        return lm.chat_prompt(*self.turns(text, labels))

    def turns(self, text: str, labels: list[str]) -> tuple[str | None, str]:
        """The system and user turns, for a local model's chat template or a served model's messages."""
        listed = ", ".join(labels)
        system = self.system.format(labels=listed) if self.system else None
        return system, self.user.format(labels=listed, text=text)


TEMPLATES = {
    "instruction": Template(
        "Classify the text into one of these labels: {labels}. Answer with the label only.",
        "Text: {text}\nLabel:",
    ),
    "question": Template(None, "Which of these labels fits the text best: {labels}?\n\nText: {text}\nThe label is:"),
}


def rule_scores(rule: str, totals: np.ndarray, lengths: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Each label's score under a scoring rule, from its total log-probability and token count.

    `mean` is per token (long labels are not penalised for their length), `sum` the label's whole
    probability; `_calibrated` first subtracts `bias`, each label's mean score over the
    validation examples, which removes the prompt's preference for some labels whatever the text
    (batch calibration, Zhou et al. 2024). A content-free input ("N/A", Zhao et al. 2021) was
    tried first: its bias overshot on the built-in model and calibrated to chance.
    """
    if rule.endswith("_calibrated"):
        if bias is None:
            raise ValueError("a calibrated rule needs the content-free scores")
        totals = totals - bias
    return totals / lengths if rule.startswith("mean") else totals


class LabelScorer:
    """Total log-probabilities of every label after a prompt, and the labels' token counts."""

    def __init__(self, lm: LocalLM) -> None:
        self.lm = lm
        self._lengths: dict[str, int] = {}

    def totals(self, prompt: str, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
        totals = np.array(self.lm.continuation_logprobs(prompt, labels, average=False))
        return totals, np.array([self._length(label) for label in labels], dtype=float)

    def _length(self, label: str) -> int:
        if label not in self._lengths:
            self._lengths[label] = len(self.lm.tokenizer(label, add_special_tokens=False)["input_ids"])
        return self._lengths[label]


def run_prompting(
    split: FrozenSplit, lm: LocalLM, test: Dataset, *, choice_sample: int = VALIDATION_SAMPLE
) -> RunResult:
    """Zero-shot: the template and scoring rule chosen on validation, then `test` (the
    comparison's test sample) scored once."""
    _require_labels(split)
    labels = sorted(set(split.train.labels() or []))
    scorer = LabelScorer(lm)
    watch = Stopwatch()
    rules = ("mean", "sum", "mean_calibrated", "sum_calibrated")
    validation = split.validation_sample(choice_sample)
    gold = [str(r["label"]) for r in validation.records]
    accuracy: dict[tuple[str, str], float] = {}
    bias: dict[str, np.ndarray] = {}
    for name, candidate in TEMPLATES.items():
        scored = [scorer.totals(candidate.prompt(lm, str(r["text"]), labels), labels) for r in validation.records]
        bias[name] = np.mean([totals for totals, _ in scored], axis=0)
        for rule in rules:
            chosen = [labels[int(np.argmax(rule_scores(rule, t, n, bias[name])))] for t, n in scored]
            accuracy[name, rule] = classification_metrics(gold, chosen)["accuracy"]
    template, rule = max(accuracy, key=lambda choice: accuracy[choice])  # ties: the first, simplest
    setup = watch.spent()

    def classify(text: str) -> str:
        totals, lengths = scorer.totals(TEMPLATES[template].prompt(lm, text, labels), labels)
        return labels[int(np.argmax(rule_scores(rule, totals, lengths, bias[template])))]

    config = {
        "model": lm.name,
        "template": template,
        "scoring": rule,
        "validation_accuracy": {f"{t}/{r}": v for (t, r), v in accuracy.items()},
        "validation_examples": len(validation),
        "labels": len(labels),
    }
    return _scored("prompting", split, test, classify, config, setup, 0.0)


def run_fewshot(
    embedded: EmbeddedSplit, lm: LocalLM, test: Dataset, *, choice_sample: int = VALIDATION_SAMPLE
) -> RunResult:
    """The nearest training examples shown in the prompt, the model choosing among their labels;
    how many examples, and whether labels score per token or in total, chosen on validation."""
    split = embedded.split
    _require_labels(split)
    watch = Stopwatch()
    train_texts, train_labels = embedded.texts["train"], embedded.labels["train"]
    search = vector_search(embedded.vectors["train"])
    scorer = LabelScorer(lm)

    def scored(text: str, shots: int) -> tuple[list[str], np.ndarray, np.ndarray]:
        _, neighbours = search(embedded.embedder.encode([text]), shots)
        # Nearest last, so the most similar example sits next to the query.
        examples = [(train_texts[i], train_labels[i]) for i in reversed(neighbours[0].tolist()) if i >= 0]
        prompt, candidates = few_shot_prompt(lm, text, examples)
        return (candidates, *scorer.totals(prompt, candidates))

    validation = split.validation_sample(choice_sample)
    gold = [str(r["label"]) for r in validation.records]
    accuracy: dict[tuple[int, str], float] = {}
    for shots in SHOT_CHOICES:
        passes = [scored(str(r["text"]), shots) for r in validation.records]
        for rule in ("mean", "sum"):
            chosen = [c[int(np.argmax(rule_scores(rule, t, n)))] for c, t, n in passes]
            accuracy[shots, rule] = classification_metrics(gold, chosen)["accuracy"]
    shots, rule = max(accuracy, key=lambda choice: accuracy[choice])  # ties: the first, fewer examples
    setup = embedded.spent["train"] + watch.spent()

    def classify(text: str) -> str:
        candidates, totals, lengths = scored(text, shots)
        return candidates[int(np.argmax(rule_scores(rule, totals, lengths)))]

    config = {
        "model": lm.name,
        "shots": shots,
        "scoring": rule,
        "validation_accuracy": {f"{n}/{r}": v for (n, r), v in accuracy.items()},
        "validation_examples": len(validation),
        "embedding_model": embedded.embedder.info.model,
    }
    disk = float(embedded.vectors["train"].nbytes)
    return _scored("fewshot", split, test, classify, config, setup, disk)


def _require_labels(split: FrozenSplit) -> None:
    if split.train.shape is not Shape.LABELLED:
        raise DataError(f"{split.train.source}: the prompted arms classify here; they need labelled examples")


def _scored(
    arm: str,
    split: FrozenSplit,
    test: Dataset,
    classify: Callable[[str], str],
    config: dict[str, object],
    setup: Spent,
    disk: float,
) -> RunResult:
    predictions, timing = one_at_a_time(lambda record: classify(str(record["text"])), test.records)
    return RunResult.scored(
        arm,
        test,
        predictions,
        config={**config, "test_sample": len(test), "test_size": len(split.test)},
        costs={**setup.costs(), **timing, "disk_bytes": disk},
    )
