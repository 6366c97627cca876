"""The advice from measured signals: flat signals send the user to retrieval or the head; a head
far above the vote with a rising curve sends them to fine-tuning; ties depend on the test size."""

from __future__ import annotations

import pytest

from advisor.answers import Answers
from advisor.expectations import expected_quality, tie_margin
from advisor.recommend import recommend
from tunewise.probes import AnswerSignals, DocumentSignals, LabelSignals, Probe

CPU = {"gpu_memory_gb": 0.0, "ram_gb": 24.0, "cpu_cores": 2}


def labelled_probe(knn: float, head: float, curve: tuple[float, float, float], n: int = 3000) -> Probe:
    signals = LabelSignals(
        n_labels=3,
        counts={"a": n // 2, "b": n // 4, "c": n - n // 2 - n // 4},
        majority_share=0.5,
        knn_accuracy=knn,
        knn_k=10,
        head_accuracy=head,
        head_c=1.0,
        curve={"0.25": curve[0], "0.5": curve[1], "1.0": curve[2]},
        conflicts=0,
        folds=3,
    )
    return Probe("labels", n, n, 1.0, "h", {"embedder": "minilm-l6"}, labels=signals)


def classification(n: int = 3000, **more: object) -> Answers:
    return Answers(task="classification", n_examples=n, n_labels=3, tokens_per_example=20, seq_len=40, **CPU, **more)  # type: ignore[arg-type]


def test_flat_signals_send_the_user_to_the_cheapest_tied_arm() -> None:
    # The vote and the head agree and more data stopped helping: the encoder already has it.
    probe = labelled_probe(knn=0.925, head=0.925, curve=(0.91, 0.922, 0.925))
    # Enough data that training takes a while here: no "cheap to check" shortcut.
    result = recommend(classification(30_000), probe=probe, test_size=1000)
    assert result.recommended == "rag"
    by_method = {r.method: r for r in result.ranking}
    criteria = [reason.criterion for reason in by_method["rag"].reasons]
    assert "measured quality" in criteria
    full = by_method["full"].expected
    assert full is not None and full.mid - 0.925 < tie_margin(0.925, full.mid, 1000)
    # A vote below the head loses its place to the head, which is then the cheapest tied arm.
    lower = recommend(classification(30_000), probe=labelled_probe(0.915, 0.925, (0.92, 0.925, 0.925)), test_size=1000)
    assert lower.recommended == "head"


def test_a_head_far_above_the_vote_with_a_rising_curve_sends_the_user_to_fine_tuning() -> None:
    probe = labelled_probe(knn=0.62, head=0.74, curve=(0.66, 0.70, 0.74))
    result = recommend(classification(), probe=probe, test_size=800)
    # On CPU cores a small encoder trains faster in full than with LoRA (measured), so full wins.
    assert result.recommended == "full"
    full = next(r for r in result.ranking if r.method == "full")
    assert full.expected is not None and full.expected.mid > 0.74 + tie_margin(0.74, full.expected.mid, 800)


def test_a_head_above_the_vote_wins_when_fine_tuning_is_out_of_reach() -> None:
    probe = labelled_probe(knn=0.62, head=0.74, curve=(0.66, 0.70, 0.74))
    result = recommend(classification(budget_hours=0.03), probe=probe, test_size=800)
    assert result.recommended == "head"  # every trained arm is over the time budget


def test_on_small_data_a_few_minutes_of_training_is_checked_rather_than_guessed() -> None:
    probe = labelled_probe(knn=0.80, head=0.82, curve=(0.78, 0.80, 0.82), n=400)
    small = recommend(classification(400), probe=probe, test_size=80)
    assert small.recommended == "full"
    full = next(r for r in small.ranking if r.method == "full")
    assert "cheap to check" in [reason.criterion for reason in full.reasons]
    # The same signals on data whose training takes longer: 80 test examples would not tell a few
    # points apart, so the cheapest tied arm stays the advice.
    large = recommend(classification(40_000), probe=labelled_probe(0.80, 0.82, (0.815, 0.818, 0.82)), test_size=80)
    assert large.recommended == "rag"
    assert tie_margin(0.8, 0.85, 80) > tie_margin(0.8, 0.85, 8000) * 5


def test_near_the_ceiling_training_is_not_checked_when_its_best_case_would_come_out_tied() -> None:
    # The head is at 0.985 on small data: even a perfect fine-tuned model would be 1.5 points above
    # it, which 100 test examples cannot tell from chance. The cheapest tied arm stays the advice.
    probe = labelled_probe(knn=0.985, head=0.985, curve=(0.98, 0.984, 0.985), n=400)
    result = recommend(classification(400), probe=probe, test_size=100)
    full = next(r for r in result.ranking if r.method == "full")
    assert full.expected is not None and full.expected.high - 0.985 < tie_margin(0.985, full.expected.high, 100)
    assert "cheap to check" not in [reason.criterion for reason in full.reasons]
    assert result.recommended in ("rag", "head")


def test_expectations_are_ranges_around_their_middle() -> None:
    probe = labelled_probe(knn=0.7, head=0.75, curve=(0.7, 0.73, 0.75))
    for arm, expected in expected_quality(probe, 500).items():
        assert 0.0 <= expected.low <= expected.mid <= expected.high <= 1.0, arm
    assert set(expected_quality(probe, 500)) >= {"rag", "head", "full", "lora"}


def test_label_conflicts_cap_every_expectation() -> None:
    clean = labelled_probe(knn=0.97, head=0.98, curve=(0.96, 0.97, 0.98))
    noisy_signals = LabelSignals(**{**clean.labels.__dict__, "conflicts": 600})  # type: ignore[union-attr]
    noisy = Probe("labels", 3000, 3000, 1.0, "h", {}, labels=noisy_signals)
    assert max(e.mid for e in expected_quality(noisy, 500).values()) <= 0.9 + 1e-9


def test_generation_expectations_follow_the_base_models_loss() -> None:
    def probe(loss: float) -> Probe:
        signals = AnswerSignals(loss, 32, 0.1, 0.3, 0.0, 0.2, 8)
        return Probe("answers", 500, 500, 1.0, "h", {}, answers=signals)

    knows, far = expected_quality(probe(0.3), 100), expected_quality(probe(3.0), 100)
    assert far["lora"].mid > knows["lora"].mid > knows["rag"].mid
    assert knows["rag"].mid == pytest.approx(0.3)  # the nearest example's answer beats zero-shot here
    assert "head" not in knows


def test_without_a_probe_the_rules_of_thumb_still_rank() -> None:
    result = recommend(classification())
    assert all(r.expected is None for r in result.ranking)
    assert result.to_dict()["probe"] is None


def documents_probe(recall: float, answered: float = 0.6) -> Probe:
    answers = AnswerSignals(4.9, 32, 0.0, 0.08, 0.0, 0.04, 8)
    documents = DocumentSignals(480, 539, 100, {"dense": recall - 0.05, "lexical": recall, "hybrid": recall},
                                answered, 8, 11.7)  # fmt: skip
    return Probe("answers", 240, 240, 1.0, "h", {}, answers=answers, documents=documents)


def qa_on_documents(**more: object) -> Answers:
    return Answers(task="qa", n_examples=240, n_documents=480, tokens_per_example=30, seq_len=64, **CPU, **more)  # type: ignore[arg-type]


def test_measured_retrieval_over_documents_moves_the_retrieval_arms() -> None:
    found = recommend(qa_on_documents(), probe=documents_probe(0.95))
    missed = recommend(qa_on_documents(), probe=documents_probe(0.3, answered=0.2))
    score = {r.method: r.score for r in found.ranking}
    low = {r.method: r.score for r in missed.ranking}
    assert score["rag"] > low["rag"] and score["rag+lora"] > low["rag+lora"]
    reasons = " ".join(reason.text for r in missed.ranking if r.method == "rag" for reason in r.reasons)
    assert "only 30% of 100 training questions" in reasons
    assert found.ranking[0].method in ("rag", "rag+lora")
    # The rag expectation is what answering from the passages measured, not a rule of thumb.
    expected = expected_quality(documents_probe(0.95, answered=0.6), 120)
    assert expected["rag"].mid == pytest.approx(0.6) and expected["prompting"].mid == pytest.approx(0.04)
    assert expected["rag+lora"].mid > expected["rag"].mid
    assert expected["rag+lora"].mid <= 0.95  # a reader cannot answer what retrieval does not find


def test_changing_knowledge_is_weighed_with_the_measured_cost_of_indexing() -> None:
    result = recommend(qa_on_documents(knowledge_changes="often"), probe=documents_probe(0.95))
    texts = [reason.text for r in result.ranking if r.method == "rag" for reason in r.reasons]
    assert any("indexing all 480 documents took 11.7 s here" in text and "LoRA training run" in text for text in texts)


def test_a_probe_with_documents_survives_its_cache() -> None:
    probe = documents_probe(0.9)
    assert Probe.from_dict(probe.to_dict()) == probe
    with pytest.raises(ValueError, match=r"documents\.recall"):
        Probe.from_dict(probe.to_dict() | {"documents": {**probe.to_dict()["documents"], "recall": "high"}})
