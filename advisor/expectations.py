"""What each arm is expected to score, from the probe, and when two expectations are a tie.

Labelled data (the primary metric is accuracy):

- `rag` is the k-NN vote the probe scored leave-one-out: it *is* the arm, on the training data.
- `head` is the probe's cross-validated linear head, moved along its learning curve to the
  comparison's larger training part (each doubling of the data added `curve_gain`).
- the trained arms start from the head and remove a share of its errors. Two signals say how
  much: the head above the vote (the labels live in directions that similarity ignores, which
  fine-tuning the encoder brings forward) and the head's learning curve still rising (the
  training signal is not used up). Where both are flat, the frozen encoder already carries what
  the labels need and fine-tuning is expected to tie with the head. Both are scaled by the
  examples per label: moving a whole encoder's features takes a few hundred examples of each
  class, and below that a linear probe on fixed features matches or beats fine-tuning (Kumar et
  al. 2022).

Generation data (the primary metric is token F1): `prompting` is the probe's zero-shot answers,
`rag` the better of those and the nearest training example's answer, and the trained arms
remove a share of the remaining errors that grows with the base model's loss on the answers
(a model that already predicts them has little to learn).

Every expectation is a range: the comparison's test-set noise at its size, plus the probe's own.
`docs/advisor.md` has the calibration table these constants were checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunewise.probes import AnswerSignals, DocumentSignals, LabelSignals, Probe

Z95 = 1.96
DEFAULT_TEST_SHARE = 0.2  # what `compare` holds out when the user gives no test file
TRAIN_SHARE_OF_PROBE = 0.9  # the comparison trains on 90% of what the probe read (10% validates)

# The share of the head's errors fine-tuning is expected to remove, from the two signals.
GAP_WEIGHT = 1.5  # per unit of the vote's errors that the linear head fixes
CURVE_WEIGHT = 1.0  # per unit of the head's errors that the last doubling of data removed
PER_LABEL_FULL = 300  # examples per label from which fine-tuning gets the whole share
MAX_ERROR_REMOVED = 0.6  # fine-tuning never fixes everything: label noise and hard cases remain

# Generation: the share of the best untrained arm's errors a trained model removes.
LOW_LOSS, HIGH_LOSS = 0.5, 2.5  # nats per answer token: already predicted, far from predicted
GEN_REMOVED_LOW, GEN_REMOVED_HIGH = 0.1, 0.5
LORA_OF_FULL = 1.0  # LoRA matches full fine-tuning (Hu et al. 2021); cost tells them apart
# Questions on documents, answered closed book by a model trained on pairs about other facts: the
# share of the generation estimate's gain that is the answers' form, not knowledge of the facts
# asked. On the built-in FOLDOC set full fine-tuning went from 0.04 (zero-shot) to 0.155, a quarter
# of the 0.48 the generation estimate would give (docs/advisor.md).
CLOSED_BOOK_FORM = 0.25


@dataclass(frozen=True)
class Expected:
    """One arm's expected primary metric, as a range, and what it rests on."""

    low: float
    mid: float
    high: float
    basis: str

    def rounded(self) -> Expected:
        """To three places, as reports show and files keep it."""
        return Expected(round(self.low, 3), round(self.mid, 3), round(self.high, 3), self.basis)

    def to_dict(self) -> dict[str, float | str]:
        rounded = self.rounded()
        return {"low": rounded.low, "mid": rounded.mid, "high": rounded.high, "basis": self.basis}


def test_size_for(n_examples: int, test_size: int | None) -> int:
    return test_size if test_size else max(20, round(DEFAULT_TEST_SHARE * n_examples))


def tie_margin(a: float, b: float, test_size: int) -> float:
    """How far apart two arms' accuracies can be and still not be told apart on `test_size`
    examples. In an exact McNemar test only the examples the arms disagree on count; arms on
    the same encoder share most errors, so the disagreements are taken as the larger error rate."""
    return Z95 * math.sqrt(max(1 - a, 1 - b, 0.01) / max(test_size, 1))


def _ranged(mid: float, noise: float, basis: str, *, spread: float = 0.0) -> Expected:
    mid = min(max(mid, 0.0), 1.0)
    return Expected(max(0.0, mid - noise), mid, min(1.0, mid + noise + spread), basis)


def _noise(q: float, probed: int, test_size: int) -> float:
    """The 95% half-width of a score measured on `test_size` examples and predicted from `probed`."""
    variance = q * (1 - q)
    return Z95 * math.sqrt(variance / max(test_size, 1) + variance / max(probed, 1))


def expected_quality(probe: Probe, test_size: int | None = None) -> dict[str, Expected]:
    """The probe's expected primary metric for each arm it can speak for."""
    tested = test_size_for(probe.n_examples, test_size)
    expected: dict[str, Expected] = {}
    if probe.labels is not None:
        expected = _labelled(probe.labels, probe.n_probed, tested)
    elif probe.answers is not None and probe.documents is not None:
        expected = _documents(probe.answers, probe.documents, tested)
    elif probe.answers is not None:
        expected = _answers(probe.answers, tested)
    served = probe.prompted
    if served is not None:  # the model the user would really prompt speaks for `prompting`
        basis = f"{served.model}, zero-shot on {served.examples} training examples"
        expected["prompting"] = _ranged(served.score, _noise(served.score, served.examples, tested), basis)
    return expected


def error_removed_by_training(signals: LabelSignals) -> float:
    """The share of the head's errors a fine-tuned encoder is expected to remove."""
    knn, head = signals.knn_accuracy, signals.head_accuracy
    half = signals.curve.get("0.5", head)
    above_vote = max(0.0, head - knn) / max(1 - knn, 1e-6)
    still_rising = max(0.0, signals.curve_gain) / max(1 - half, 1e-6)
    per_label = sum(signals.counts.values()) / max(signals.n_labels, 1)
    enough = min(1.0, per_label / PER_LABEL_FULL)
    return min(MAX_ERROR_REMOVED, (GAP_WEIGHT * above_vote + CURVE_WEIGHT * still_rising) * enough)


def _labelled(signals: LabelSignals, probed: int, tested: int) -> dict[str, Expected]:
    knn = signals.knn_accuracy
    # The comparison's head learns from 90% of the probed data, the probe's from (folds-1)/folds.
    probe_share = (signals.folds - 1) / signals.folds
    doublings = math.log2(TRAIN_SHARE_OF_PROBE / probe_share)
    head = min(1.0, signals.head_accuracy + max(0.0, signals.curve_gain) * doublings)
    removed = error_removed_by_training(signals)
    trained = head + (1 - head) * removed
    ceiling = 1 - signals.conflict_share / 2  # a conflicting pair costs one of its two examples
    trained, head, knn = min(trained, ceiling), min(head, ceiling), min(knn, ceiling)
    expected = {
        "rag": _ranged(knn, _noise(knn, probed, tested), f"k-NN vote, leave-one-out on {probed:,} examples"),
        "head": _ranged(head, _noise(head, probed, tested), f"linear head, {signals.folds}-fold cross-validated"),
    }
    per_label = sum(signals.counts.values()) / max(signals.n_labels, 1)
    basis = (
        f"the head plus {removed:.0%} of its errors: head {signals.head_accuracy:.3f} against the vote's {knn:.3f}, "
        f"{signals.curve_gain:+.3f} from the last doubling of data, {per_label:,.0f} examples a label"
    )
    # Fine-tuning can also end below the head (too few updates, an unlucky seed): the low end
    # is the head's own.
    noise = _noise(trained, probed, tested)
    full = Expected(max(0.0, head - noise), trained, min(1.0, trained + noise), basis)
    expected["full"] = full
    for method in ("lora", "qlora"):
        mid = head + (trained - head) * LORA_OF_FULL
        expected[method] = Expected(full.low, mid, full.high, basis)
    return expected


def _answers(signals: AnswerSignals, tested: int) -> dict[str, Expected]:
    zero = signals.zero_shot_f1
    retrieved = max(zero, signals.nearest_f1)
    few = max(signals.zero_shot_examples, 1)
    expected = {
        "prompting": _ranged(zero, _noise(zero, few, tested), f"zero-shot token F1 on {few} examples"),
        "rag": _ranged(retrieved, _noise(retrieved, few, tested), "the nearest training example's answer"),
    }
    removed = _removed_by_training(signals.base_loss)
    trained = retrieved + (1 - retrieved) * removed
    noise = _noise(trained, signals.loss_examples, tested)
    basis = f"the best untrained arm plus {removed:.0%} of its errors (base loss {signals.base_loss:.2f})"
    for method in ("full", "lora", "qlora", "rag+lora"):
        expected[method] = Expected(max(0.0, retrieved - noise), trained, min(1.0, trained + noise), basis)
    return expected


def _removed_by_training(base_loss: float) -> float:
    """The share of the remaining errors a trained model removes: more where the base model is
    far from predicting the answers (its loss on them, in nats a token)."""
    share = min(max((base_loss - LOW_LOSS) / (HIGH_LOSS - LOW_LOSS), 0.0), 1.0)
    return GEN_REMOVED_LOW + (GEN_REMOVED_HIGH - GEN_REMOVED_LOW) * share


def _documents(signals: AnswerSignals, documents: DocumentSignals, tested: int) -> dict[str, Expected]:
    """Questions on documents: `rag` is what answering from the passages measured; `rag+lora`
    trains that reader, removing a share of its errors but never past what retrieval finds; the
    closed-book arms know only what the model knew, and training on pairs about other facts
    teaches the answers' form, not the facts asked (Ovadia et al. 2024)."""
    zero, few = signals.zero_shot_f1, max(signals.zero_shot_examples, 1)
    read, asked = documents.answered_f1, max(documents.answered, 1)
    found = documents.best_recall
    removed = _removed_by_training(signals.base_loss)
    expected = {
        "prompting": _ranged(zero, _noise(zero, few, tested), f"closed-book token F1 on {few} examples"),
        "rag": _ranged(read, _noise(read, asked, tested), f"answering {asked} training questions from the passages"),
    }
    trained_reader = read + max(found - read, 0.0) * removed
    noise = _noise(trained_reader, asked, tested)
    expected["rag+lora"] = Expected(
        max(0.0, read - noise),
        trained_reader,
        min(1.0, trained_reader + noise),
        f"the reader trained: {removed:.0%} of its errors where retrieval found the answer ({found:.0%})",
    )
    closed = zero + (1 - zero) * removed * CLOSED_BOOK_FORM
    noise = _noise(closed, few, tested)
    basis = f"closed book: the answers' form learnt, not the facts asked (zero-shot {zero:.2f})"
    for method in ("full", "lora", "qlora"):
        expected[method] = Expected(max(0.0, zero - noise), closed, min(1.0, closed + noise), basis)
    return expected
