"""The prompted arms with the real built-in instruct model: label scoring, choices on validation,
scoring on the comparison's test sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.arms import EmbeddedSplit
from rag.embed import Embedder
from rag.prompted import rule_scores, run_fewshot, run_prompting
from tunewise.data.protocol import FrozenSplit, freeze_split, ids_of
from tunewise.data.task import DataSpec, load_task_data
from tunewise.inference import LocalLM


@pytest.fixture(scope="module")
def lm(smollm2: Path) -> LocalLM:
    return LocalLM()


@pytest.fixture
def split(sentiment_data: Path) -> FrozenSplit:
    return freeze_split(load_task_data(DataSpec(path=str(sentiment_data), eval_fraction=0.25)), 0.2, 42)


def _whole_sequence(lm: LocalLM, prompt: str, label: str) -> float:
    """The reference: prompt and label as one sequence, no cache at all."""
    import torch

    prompt_ids = lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ending = lm.tokenizer(label, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([prompt_ids + ending])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[len(prompt_ids) - 1 + i, token]) for i, token in enumerate(ending))


def test_packed_labels_and_a_reused_prompt_cache_score_exactly_as_whole_sequences_do(lm: LocalLM) -> None:
    from tunewise.continuations import ContinuationScorer

    labels = ["blue", "green", "a shade of grey", "card_arrival", "top_up_by_cash_or_cheque"]
    prompts = [
        lm.chat_prompt("Answer with one word from: " + ", ".join(labels), question)
        for question in ("Is the sky blue or green?", "Is the grass blue or green?", "Is snow grey?")
    ]
    batched = ContinuationScorer(lm.model, lm.tokenizer, lm.device, packing=False)  # the fallback path
    for prompt in prompts:  # consecutive prompts share their instructions: the cache is cut back and reused
        packed = lm.continuation_logprobs(prompt, labels, average=False)
        for label, score, (fallback, _) in zip(labels, packed, batched.totals(prompt, labels), strict=True):
            whole = _whole_sequence(lm, prompt, label)
            assert score == pytest.approx(whole, abs=1e-3) and fallback == pytest.approx(whole, abs=1e-3)
    sky = lm.continuation_logprobs(prompts[0], labels, average=False)
    assert sky[0] > sky[1]  # the model knows the sky's colour
    averaged = lm.continuation_logprobs(prompts[0], labels)
    assert averaged[2] == pytest.approx(sky[2] / len(lm.tokenizer(labels[2], add_special_tokens=False)["input_ids"]))


def test_scoring_rules_divide_by_length_and_calibration_removes_the_prompts_bias() -> None:
    totals, lengths, bias = np.array([-2.0, -6.0]), np.array([1.0, 4.0]), np.array([-1.0, -6.0])
    assert rule_scores("sum", totals, lengths).tolist() == [-2.0, -6.0]
    assert rule_scores("mean", totals, lengths).tolist() == [-2.0, -1.5]
    assert rule_scores("sum_calibrated", totals, lengths, bias).tolist() == [-1.0, 0.0]
    assert rule_scores("mean_calibrated", totals, lengths, bias).tolist() == [-1.0, 0.0]


def test_zero_shot_chooses_on_validation_and_scores_the_test_sample(split: FrozenSplit, lm: LocalLM) -> None:
    sample = split.test_sample(12)
    result = run_prompting(split, lm, sample)
    assert result.eval_ids == ids_of(sample) and len(result.predictions) == 12
    assert set(result.predictions) <= {"positive", "negative"}
    config = result.config
    assert len(config["validation_accuracy"]) == 8  # two templates, four scoring rules
    chosen = f"{config['template']}/{config['scoring']}"
    assert config["validation_accuracy"][chosen] == max(config["validation_accuracy"].values())
    assert result.metrics["accuracy"] >= 0.75, result.predictions  # "wonderful" against "awful"
    assert result.costs["latency_p50"] > 0 and result.costs["disk_bytes"] == 0


def test_few_shot_shows_the_nearest_examples_and_picks_among_their_labels(split: FrozenSplit, lm: LocalLM) -> None:
    sample = split.test_sample(10)
    result = run_fewshot(EmbeddedSplit.of(split, Embedder()), lm, sample)
    assert result.eval_ids == ids_of(sample)
    assert result.config["shots"] in (4, 8) and result.config["scoring"] in ("mean", "sum")
    assert result.metrics["accuracy"] >= 0.8, result.predictions
