"""The probe: a minute's measurement of how hard the user's data is, before any advice.

    labelled data ─► embed (MiniLM) ─► k-NN leave-one-out, linear head cross-validated with its
                                        learning curve, label conflicts, per-class counts
    answer data   ─► base model's loss on a few dozen completions, how often the nearest training
                     example's answer already matches, zero-shot exact match on a handful

The probe reads only what a comparison would train and choose on (the frozen split's training
and validation parts), never its test set, so that advice built on it can be checked fairly.
Results are cached by the probed examples' fingerprint: asking again is instant. This module is
pure Python; the measuring lives in `advisor.probe_labels` and `advisor.probe_answers`, which
import torch, and only run when a probe is asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunewise.names import Progress

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
    cached: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Probe:
        labels = data.get("labels")
        answers = data.get("answers")
        return cls(
            kind=data["kind"],
            n_examples=int(data["n_examples"]),
            n_probed=int(data["n_probed"]),
            seconds=float(data["seconds"]),
            data_hash=str(data["data_hash"]),
            models=dict(data.get("models") or {}),
            labels=LabelSignals(**labels) if labels else None,
            answers=AnswerSignals(**answers) if answers else None,
            cached=bool(data.get("cached", False)),
            notes=list(data.get("notes") or []),
        )


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


def run_probe(
    data: Dataset,
    *,
    seed: int = 42,
    embedder: str | None = None,
    lm: str | None = None,
    progress: Progress | None = None,
    fresh: bool = False,
) -> Probe | None:
    """Probe `data` (the training part of the user's data: a comparison's training and validation
    slices, never its test set), or read the cached probe of the same examples and models.

    None when there is nothing a probe can measure: documents without answers, or fewer than
    `MIN_PROBED` examples (the advice then rests on the answers alone)."""
    from tunewise.atomic import atomic_write_json
    from tunewise.data.shapes import Shape
    from tunewise.names import DEFAULT_CAUSAL_LM, DEFAULT_EMBEDDER

    if data.shape is Shape.DOCUMENTS or len(data) < MIN_PROBED:
        return None
    labelled = data.shape is Shape.LABELLED
    models = {"embedder": embedder or DEFAULT_EMBEDDER}
    if not labelled:
        models["lm"] = lm or DEFAULT_CAUSAL_LM
    key = probe_key(data, models)
    cached = probe_cache() / f"{key}.json"
    if not fresh and cached.is_file():
        try:
            found = Probe.from_dict(json.loads(cached.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            found = None  # a damaged cache entry is measured again, not trusted
        if found is not None:
            return Probe(**{**found.__dict__, "cached": True})
    started = time.perf_counter()
    sample, notes = _sampled(data, seed)
    if labelled:
        from advisor.probe_labels import measure_labels

        labels = measure_labels(sample, models["embedder"], seed=seed, progress=progress)
        probe = Probe("labels", len(data), len(sample), 0.0, key, models, labels=labels, notes=notes)
    else:
        from advisor.probe_answers import measure_answers

        answers = measure_answers(sample, models["embedder"], models["lm"], seed=seed, progress=progress)
        probe = Probe("answers", len(data), len(sample), 0.0, key, models, answers=answers, notes=notes)
    probe = Probe(**{**probe.__dict__, "seconds": round(time.perf_counter() - started, 2)})
    with contextlib.suppress(OSError):  # a read-only cache costs the next run a minute, not this one its answer
        atomic_write_json(cached, probe.to_dict())
    return probe


def _sampled(data: Dataset, seed: int) -> tuple[Dataset, list[str]]:
    if len(data) <= PROBE_LIMIT:
        return data, []
    import random

    positions = sorted(random.Random(seed).sample(range(len(data)), PROBE_LIMIT))
    return data.subset(positions), [f"probed a seeded sample of {PROBE_LIMIT:,} of the {len(data):,} examples"]
