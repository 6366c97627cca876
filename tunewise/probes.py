"""What a probe of the user's data found, and where probes are cached: the rooms' shared record.

The measuring is the retrieval room's (`rag.probe`, with its embedder and index); the advisor
reads the result (`advisor.expectations`); both meet here.

The probe: a minute's measurement of how hard the user's data is, before any advice.

    labelled data ─► embed (MiniLM) ─► k-NN leave-one-out, linear head cross-validated with its
                                        learning curve, label conflicts, per-class counts
    answer data   ─► base model's loss on a few dozen completions, how often the nearest training
                     example's answer already matches, zero-shot exact match on a handful

The probe reads only what a comparison would train and choose on (the frozen split's training
and validation parts), never its test set, so that advice built on it can be checked fairly.
Results are cached by the probed examples' fingerprint: asking again is instant. This module is
pure Python; the measuring lives in `rag.probe_labels` and `rag.probe_answers`, which import
torch, and only run when a probe is asked for.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunewise.data.shapes import Dataset

PROBE_VERSION = 1  # bump when what the probe measures changes: cached probes are then measured again
PROBE_LIMIT = 10_000  # examples probed; larger data is sampled (seeded)
MIN_PROBED = 20  # below this, cross-validation and leave-one-out say nothing a user can act on


@dataclass(frozen=True)
class LabelSignals:
    """What the probe measured on labelled data (accuracies are shares, 0..1)."""

    n_labels: int
    counts: dict[str, int]  # examples per label, most frequent first
    majority_share: float
    knn_accuracy: float  # similarity-weighted vote of the k nearest others (leave-one-out), k tuned the same way
    knn_k: int
    head_accuracy: float  # a logistic-regression head on frozen embeddings, cross-validated
    head_c: float
    curve: dict[str, float]  # the head's cross-validated accuracy at 25%, 50% and 100% of each fold's training part
    conflicts: int  # examples whose (near-)duplicate carries another label
    folds: int

    @property
    def conflict_share(self) -> float:
        return self.conflicts / max(sum(self.counts.values()), 1)

    @property
    def curve_gain(self) -> float:
        """Accuracy the head gained from the last doubling of its training data."""
        return self.curve.get("1.0", 0.0) - self.curve.get("0.5", 0.0)


@dataclass(frozen=True)
class AnswerSignals:
    """What the probe measured on generation data (prompt/completion, chat, questions)."""

    base_loss: float  # the base model's mean loss per completion token (nats)
    loss_examples: int
    nearest_match: float  # share whose nearest other training example has the same answer (exact, normalised)
    nearest_f1: float  # token F1 of the nearest other example's answer against the gold
    zero_shot_exact: float  # exact match of the base model's own answers
    zero_shot_f1: float
    zero_shot_examples: int


@dataclass(frozen=True)
class DocumentSignals:
    """What the probe measured of the user's documents against training questions (never test
    ones): whether retrieval finds the answers, whether the model reads them off the passages,
    and what indexing the documents costs here (what taking new ones in would cost, per document)."""

    n_documents: int
    n_passages: int
    questions: int  # training questions retrieval was measured on
    recall: dict[str, float]  # recall@3 of dense, lexical and hybrid: a passage holds the answer
    answered_f1: float  # token F1 of the model answering from the best retriever's passages
    answered: int  # questions it answered
    index_seconds: float  # chunking, embedding and indexing every document, here

    @property
    def best_recall(self) -> float:
        return max(self.recall.values(), default=0.0)

    @property
    def best_retriever(self) -> str:
        return max(self.recall, key=lambda kind: self.recall[kind]) if self.recall else ""


@dataclass(frozen=True)
class PromptedSignals:
    """What a few calls to the served model the user would prompt measured: its zero-shot
    quality on examples of the training part, and its price per prediction."""

    model: str  # the server and model, never a key
    score: float  # accuracy on labelled data, token F1 on answers
    examples: int
    usd_per_1000: float
    calls: int  # made (the rest came from the reply cache)


@dataclass(frozen=True)
class Probe:
    """A probe's result: the signals, how much was probed, and what it cost."""

    kind: str  # "labels" or "answers"
    n_examples: int  # the examples the probe could read (training and validation parts)
    n_probed: int
    seconds: float
    data_hash: str
    models: dict[str, str]  # what measured: the embedder, the language model
    labels: LabelSignals | None = None
    answers: AnswerSignals | None = None
    prompted: PromptedSignals | None = None  # the served model's, when `--lm` names one (never cached here)
    documents: DocumentSignals | None = None  # the user's documents against the questions (`--docs`)
    cached: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Probe:
        """A probe as `to_dict` wrote it; `ValueError` naming the field for anything else (a cache
        entry edited by hand or damaged: a string where a number was, NaN, a list at the top)."""
        record = _checked(cls, data, "probe")
        if record["kind"] not in ("labels", "answers"):
            raise ValueError(f"probe.kind: '{record['kind']}' is not labels or answers")
        labels, answers = data.get("labels"), data.get("answers")
        record["labels"] = LabelSignals(**_checked(LabelSignals, labels, "labels")) if labels else None
        record["answers"] = AnswerSignals(**_checked(AnswerSignals, answers, "answers")) if answers else None
        prompted = data.get("prompted")
        record["prompted"] = PromptedSignals(**_checked(PromptedSignals, prompted, "prompted")) if prompted else None
        documents = data.get("documents")
        record["documents"] = (
            DocumentSignals(**_checked(DocumentSignals, documents, "documents")) if documents else None
        )
        return cls(**record)


def _value_fits(kind: str, value: Any) -> bool:
    """Whether a JSON value is of the annotated type (`int`, `float`, `str`, `bool`, `dict[str, X]`, `list[str]`)."""
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "str":
        return isinstance(value, str)
    if kind.startswith("dict[str, "):
        inner = kind.removeprefix("dict[str, ").removesuffix("]")
        return isinstance(value, dict) and all(isinstance(k, str) and _value_fits(inner, v) for k, v in value.items())
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return True  # the nested signals, checked on their own


def _checked(cls: type, data: Any, where: str) -> dict[str, Any]:
    """The fields of dataclass `cls` from `data`, each of its annotated type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    record: dict[str, Any] = {}
    for item in fields(cls):
        if item.name not in data:
            if item.default is MISSING and item.default_factory is MISSING:
                raise ValueError(f"{where}.{item.name}: missing")
            continue
        value = data[item.name]
        if not _value_fits(str(item.type), value):
            raise ValueError(f"{where}.{item.name}: {value!r:.40} is not {item.type}")
        record[item.name] = value
    return record


def read_cached(path: Path) -> Probe | None:
    """The probe cached at `path`, or None when there is none or it is damaged (then it is measured again):
    bad JSON, the wrong types, NaN, or nesting too deep to read."""
    try:
        return Probe.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def probe_lines(probe: dict[str, Any]) -> list[str]:
    """The probe's figures as short lines (the app shows the same)."""
    head = f"measured on {probe['n_probed']:,} of {probe['n_examples']:,} training examples in {probe['seconds']:.1f} s"
    lines = [head + (" (cached)" if probe.get("cached") else "")]
    labels, answers = probe.get("labels"), probe.get("answers")
    if labels:
        curve = " -> ".join(
            f"{labels['curve'][share]:.3f}" for share in ("0.25", "0.5", "1.0") if share in labels["curve"]
        )
        counts = sorted(labels["counts"].values(), reverse=True)
        lines += [
            f"k-NN vote (k={labels['knn_k']}), leave-one-out: accuracy {labels['knn_accuracy']:.3f}",
            f"linear head, {labels['folds']}-fold cross-validated: accuracy {labels['head_accuracy']:.3f}; "
            f"learning curve at 25/50/100% of the data: {curve}",
            f"{labels['n_labels']} labels, {counts[0]:,} to {counts[-1]:,} examples each (majority "
            f"{labels['majority_share']:.0%}); {labels['conflicts']} examples with a near-duplicate labelled otherwise",
        ]
    if answers:
        lines += [
            f"base model's loss on {answers['loss_examples']} reference answers: {answers['base_loss']:.2f} nats a token",
            f"nearest training example's answer: exact match {answers['nearest_match']:.2f}, token F1 "
            f"{answers['nearest_f1']:.2f}",
            f"zero-shot on {answers['zero_shot_examples']}: exact match {answers['zero_shot_exact']:.2f}, token F1 "
            f"{answers['zero_shot_f1']:.2f}",
        ]
    documents = probe.get("documents")
    if documents:
        recall = ", ".join(f"{kind} {value:.2f}" for kind, value in documents["recall"].items())
        lines += [
            f"{documents['n_documents']:,} documents, {documents['n_passages']:,} passages, indexed in "
            f"{documents['index_seconds']:.1f} s; a passage holding the answer among the first 3 for "
            f"{documents['questions']} training questions: {recall}",
            f"answering {documents['answered']} of them from the passages: token F1 {documents['answered_f1']:.2f}",
        ]
    prompted = probe.get("prompted")
    if prompted:
        lines.append(
            f"{prompted['model']}, zero-shot on {prompted['examples']} training examples: {prompted['score']:.3f}, "
            f"${prompted['usd_per_1000']:.3g} per 1,000 predictions ({prompted['calls']} calls made)"
        )
    return lines + list(probe.get("notes") or [])


# ---------------------------------------------------------------------------- running and caching


def probe_key(data: Dataset, models: dict[str, str]) -> str:
    from tunewise.data.protocol import fingerprint

    text = json.dumps({"data": fingerprint(data), "models": models, "version": PROBE_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def probe_cache() -> Path:
    """Beside the run registry (and its arms): one home for what tunewise measured."""
    from tunewise.registry import registry_path

    return registry_path().parent / "probes"
