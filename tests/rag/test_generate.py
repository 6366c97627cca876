"""Few-shot classification and cited answers with the built-in SmolLM2 (real generation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.evaluate import evaluate_answers
from rag.generate import answer_with_sources, few_shot_label
from rag.index import build_index
from tunewise.data.shapes import to_dataset
from tunewise.data.task import open_table
from tunewise.inference import LocalLM


@pytest.fixture(scope="module")
def lm(smollm2: Path) -> LocalLM:
    return LocalLM()


def test_few_shot_always_answers_a_valid_label(lm: LocalLM) -> None:
    examples = [("I love this film, wonderful acting", "positive"), ("Terrible plot, a waste of time", "negative")]
    choice = few_shot_label(lm, "What a wonderful, lovely film", examples)
    assert choice.label == "positive"
    assert set(choice.scores) == {"negative", "positive"}
    odd = few_shot_label(lm, "zzzz qqqq", examples)
    assert odd.label in {"negative", "positive"}


def test_answers_cite_the_passages_they_use(lm: LocalLM, tmp_path: Path) -> None:
    passages = [("geo#0", "The capital of France is Paris."), ("food#0", "Sushi is a Japanese dish of rice and fish.")]
    answer = answer_with_sources(lm, "What is the capital of France?", passages, max_new_tokens=32)
    assert "Paris" in answer.text
    assert answer.sources and set(answer.sources) <= {"geo#0", "food#0"}


def test_qa_evaluation_end_to_end(lm: LocalLM, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "france.txt").write_text("The capital of France is Paris. Paris is on the Seine.")
    (docs / "japan.txt").write_text("The capital of Japan is Tokyo. Tokyo is on Honshu.")
    index = build_index(to_dataset(open_table(str(docs))), tmp_path / "index")
    (tmp_path / "qa.jsonl").write_text('{"question": "What is the capital of Japan?", "answer": "Tokyo"}\n')
    result = evaluate_answers(index, to_dataset(open_table(str(tmp_path / "qa.jsonl"))), k=2)
    assert result.metrics["token_f1"] > 0, result.predictions
    assert "japan.txt#0" in result.predictions[0]["sources"]
