"""The metrics both arms are scored with: the same lines for RAG and for fine-tuned models.

Classification: accuracy and macro-F1. Retrieval: recall@k, MRR and nDCG@k against
relevance judgments (binary or graded). Answers: exact match and token F1 with SQuAD's
normalisation (lower case, no punctuation, no articles, single spaces), best over the
acceptable answers.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    _same_length(gold, predicted)
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean of per-label F1 over the labels that occur in gold or predictions."""
    _same_length(gold, predicted)
    labels = set(gold) | set(predicted)
    if not labels:
        return 0.0
    true_pos: Counter[str] = Counter()
    pred_count: Counter[str] = Counter(predicted)
    gold_count: Counter[str] = Counter(gold)
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            true_pos[g] += 1
    total = 0.0
    for label in labels:
        tp = true_pos[label]
        if tp == 0:
            continue
        precision, recall = tp / pred_count[label], tp / gold_count[label]
        total += 2 * precision * recall / (precision + recall)
    return total / len(labels)


def classification_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    return {"accuracy": accuracy(gold, predicted), "macro_f1": macro_f1(gold, predicted)}


# ---------------------------------------------------------------------------- retrieval


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    positives = [d for d, grade in relevant.items() if grade > 0]
    if not positives:
        return 0.0
    return len(set(ranked[:k]) & set(positives)) / len(positives)


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, float]) -> float:
    for position, doc in enumerate(ranked, start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / position
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    """nDCG with gains equal to the relevance grades and a log2 discount."""
    dcg = sum(relevant.get(doc, 0.0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def retrieval_metrics(
    runs: Sequence[Sequence[str]], judgments: Sequence[Mapping[str, float]], ks: Sequence[int] = (1, 5, 10, 100)
) -> dict[str, float]:
    """Means over queries of recall@k for each k, MRR and nDCG@10."""
    if len(runs) != len(judgments):
        raise ValueError(f"{len(runs)} rankings for {len(judgments)} queries")
    n = max(len(runs), 1)
    metrics = {f"recall@{k}": sum(recall_at_k(r, j, k) for r, j in zip(runs, judgments, strict=True)) / n for k in ks}
    metrics["mrr"] = sum(reciprocal_rank(r, j) for r, j in zip(runs, judgments, strict=True)) / n
    metrics["ndcg@10"] = sum(ndcg_at_k(r, j, 10) for r, j in zip(runs, judgments, strict=True)) / n
    return metrics


# ---------------------------------------------------------------------------- answers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalise_answer(text: str) -> str:
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(predicted: str, answers: Sequence[str]) -> float:
    target = normalise_answer(predicted)
    return float(any(target == normalise_answer(a) for a in answers))


def token_f1(predicted: str, answers: Sequence[str]) -> float:
    best = 0.0
    predicted_tokens = normalise_answer(predicted).split()
    for answer in answers:
        gold_tokens = normalise_answer(answer).split()
        common = Counter(predicted_tokens) & Counter(gold_tokens)
        overlap = sum(common.values())
        if not predicted_tokens or not gold_tokens:
            best = max(best, float(predicted_tokens == gold_tokens))
            continue
        if overlap == 0:
            continue
        precision, recall = overlap / len(predicted_tokens), overlap / len(gold_tokens)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def chrf(predicted: str, answers: Sequence[str]) -> float:
    """Character n-gram F-score (chrF, sacrebleu's implementation) against the best answer, 0 to 1.

    It credits a near miss ("Paris, France" for "Paris") and a different inflection, which
    exact match and token F1 score as wrong.
    """
    from sacrebleu.metrics.chrf import CHRF

    return max((CHRF().sentence_score(predicted, [answer]).score / 100 for answer in answers), default=0.0)


def answer_metrics(predicted: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    _same_length(predicted, answers)
    n = max(len(predicted), 1)
    return {
        "exact_match": sum(exact_match(p, a) for p, a in zip(predicted, answers, strict=True)) / n,
        "token_f1": sum(token_f1(p, a) for p, a in zip(predicted, answers, strict=True)) / n,
        "chrf": sum(chrf(p, a) for p, a in zip(predicted, answers, strict=True)) / n,
    }


def _same_length(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} gold values for {len(b)} predictions")


# A comparison's metrics per task, the one the verdict ranks by first.
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")
ANSWER_METRICS = ("token_f1", "exact_match", "chrf")
# How reports name them.
METRIC_TITLES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "token_f1": "token F1",
    "exact_match": "exact match",
    "chrf": "chrF",
}
# The scores a person reads after a run or an evaluation, in this order.
SHOWN_METRICS = ("accuracy", "macro_f1", "loss", "perplexity", "exact_match", "token_f1", "chrf")


def metrics_line(values: dict[str, float], *, bold: bool = False) -> str:
    """`accuracy 0.9210  macro_f1 0.9190`: the scores of `values` that people read (an `eval_` prefix is dropped).

    One formatter for the command line and the app, so both show a run the same way; `bold` adds
    Rich markup around the numbers.
    """
    scores = {key.removeprefix("eval_"): value for key, value in values.items()}
    shown = [key for key in SHOWN_METRICS if isinstance(scores.get(key), int | float)]
    return "  ".join(f"{key} [b]{scores[key]:.4f}[/]" if bold else f"{key} {scores[key]:.4f}" for key in shown)
