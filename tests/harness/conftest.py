"""Small real data sets for training tests: each run trains real steps in seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "brown", "grey"]
ANSWER = "Tunewise says hello."


@pytest.fixture
def fixed_answer_data(tmp_path: Path) -> Path:
    """Prompt/completion pairs that all share one answer: a model that learned anything says it."""
    path = tmp_path / "fixed.jsonl"
    rows = [
        {"prompt": f"Name a thing that is {colour} number {i}.", "completion": ANSWER}
        for i in range(3)
        for colour in COLOURS
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def sentiment_data(tmp_path: Path) -> Path:
    """Two classes any encoder separates after a few steps."""
    path = tmp_path / "sentiment.csv"
    good = ["wonderful", "great", "lovely", "excellent", "fantastic", "delightful", "superb", "brilliant"]
    bad = ["awful", "terrible", "horrible", "dreadful", "disgusting", "miserable", "atrocious", "appalling"]
    lines = ["text,label"]
    for i in range(6):
        lines += [f'"the meal was {w}, visit {i}",positive' for w in good]
        lines += [f'"the meal was {w}, visit {i}",negative' for w in bad]
    path.write_text("\n".join(lines) + "\n")
    return path
