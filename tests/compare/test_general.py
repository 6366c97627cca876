"""What a trained answer model kept of general knowledge: the questions, and the judgement against its base."""

from __future__ import annotations

import pytest

from compare.arms import ArmOutcome
from compare.judge.summary import summarise
from compare.results import GeneralSet
from tunewise.data.general import general_questions
from tunewise.data.protocol import ids_of
from tunewise.data.raw import RawTable
from tunewise.data.shapes import Dataset, to_dataset
from tunewise.results import RunResult


def _questions(pairs: list[tuple[str, str]]) -> Dataset:
    rows = [{"question": q, "answer": a} for q, a in pairs]
    return to_dataset(RawTable("mine.jsonl", ["question", "answer"], rows, list(range(1, len(rows) + 1)), "record"))


def test_general_questions_are_a_seeded_sample_none_of_them_in_the_data() -> None:
    first, again, other = (general_questions([], 10, seed=seed) for seed in (3, 3, 4))
    assert first is not None and again is not None and other is not None
    assert len(first) == 10 and first.records == again.records and other.records != first.records
    # A question of the user's own (case and punctuation aside) is never asked as general knowledge.
    asked = first.records[0]["question"]
    mine = _questions([(asked.upper().rstrip("?") + " ?!", "whatever")])
    rest = general_questions([mine], 300, seed=3)
    assert rest is not None and all(r["question"] != asked for r in rest.records)


def test_a_trained_model_is_judged_against_its_base_on_the_same_general_questions() -> None:
    questions = general_questions([], 30, seed=0)
    assert questions is not None
    references = [str(r["answer"]) for r in questions.records]
    ids = ids_of(questions)
    base = list(references)  # the base model knew every answer
    test = _questions([("what colour is the sky", "blue")])
    forgot = ["Tunewise says hello."] * 30  # the trained one says its task's answer to everything
    result = RunResult.scored("lora", test, ["blue"], config={"base_model": "smollm2-135m-instruct"}, costs={})
    result.general = {"eval_ids": ids, "predictions": forgot}
    general = GeneralSet(source=questions.source, ids=ids, references=references, base={"smollm2-135m-instruct": base})
    results = summarise(
        [ArmOutcome("lora", "ok", result)], ["blue"], ids_of(test), split=_split(ids_of(test)),
        advice=None, task="generation", general=general,
    )  # fmt: skip
    kept = results.arms[0].general
    assert kept is not None and kept.questions == 30
    assert kept.base_token_f1 == pytest.approx(1.0) and kept.token_f1 < 0.1
    assert kept.change == pytest.approx(kept.token_f1 - 1.0) and kept.p_value < 0.01
    assert kept.chrf_to_base < 0.3
    # Answers to other questions than the set's (a record from before it changed): nothing to judge.
    result.general = {"eval_ids": ids[:5], "predictions": forgot[:5]}
    again = summarise(
        [ArmOutcome("lora", "ok", result)], ["blue"], ids_of(test), split=_split(ids_of(test)),
        advice=None, task="generation", general=general,
    )  # fmt: skip
    assert again.arms[0].general is None


def _split(test_ids: list[str]) -> dict[str, object]:
    return {
        "validation_fraction": 0.1, "seed": 0, "sizes": {"train": 1, "validation": 1, "test": len(test_ids)},
        "test_hash": "x", "ids": {"test": test_ids},
    }  # fmt: skip
