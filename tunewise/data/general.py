"""General knowledge no comparison trains on: what a fine-tuned answer model forgets.

Fine-tuning a causal LM on a narrow task can cost it general behaviour, and LoRA forgets less
than full fine-tuning (Biderman et al. 2024, "LoRA Learns Less and Forgets Less"). To show what
each trained arm gave up beside what it gained, it also answers a seeded sample of factual
questions from another domain, and the base model answers the same ones: the trivia questions of
`chatterbot-corpus` (the package the demo data comes from, so they ship offline), short answers
and all. A question that also occurs in the comparison's own data is left out: it would measure
what the arm learned, not what it kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tunewise.data.demo import PACKAGE, conversations
from tunewise.data.raw import RawTable
from tunewise.data.shapes import Dataset, input_text, to_dataset

GENERAL_TOPIC = "trivia"  # the corpus file of factual questions with short reference answers


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def general_questions(exclude: Sequence[Dataset], size: int, seed: int = 0) -> Dataset | None:
    """A seeded sample of `size` general-knowledge questions with reference answers, none of which
    occurs (as text, case and punctuation aside) among the inputs of `exclude`; None when every
    one does."""
    known = {_normal(input_text(part.shape, record)) for part in exclude for record in part.records}
    pairs = [
        (question, answer, path)
        for topic, question, answer, path in conversations()
        if topic == GENERAL_TOPIC and _normal(question) not in known
    ]
    if len(pairs) > size:
        chosen = sorted(np.random.default_rng(seed).choice(len(pairs), size=size, replace=False).tolist())
        pairs = [pairs[i] for i in chosen]
    if not pairs:
        return None
    rows = [{"question": q, "answer": a} for q, a, _ in pairs]
    source = f"general knowledge ({PACKAGE} {GENERAL_TOPIC})"
    table = RawTable(source, ["question", "answer"], rows, list(range(1, len(rows) + 1)), "record",
                     [str(path) for _, _, path in pairs])  # fmt: skip
    return to_dataset(table)
