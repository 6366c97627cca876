"""The local instruct model in the two ways retrieval uses it: scoring label continuations
(few-shot classification) and answering from cited passages (question answering)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tunewise.inference import LocalLM


@dataclass(frozen=True)
class FewShotChoice:
    label: str
    scores: dict[str, float]


def few_shot_prompt(lm: LocalLM, query: str, examples: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The prompt that shows the retrieved (text, label) examples before `query`, and the
    candidate labels: only those shown.

    Retrieval narrows the label set and the model chooses within it. Offering every label instead
    let a small model drift to labels it merely finds likely (on the demo topics, 8% accuracy
    against 62% for the shown labels, 4 examples each).
    """
    system, user, candidates = few_shot_turns(query, examples)
    return lm.chat_prompt(system, user), candidates


def few_shot_turns(query: str, examples: list[tuple[str, str]]) -> tuple[str, str, list[str]]:
    """The system and user turns of the few-shot prompt, and the candidate labels (those shown)."""
    candidates = list(dict.fromkeys(label for _, label in examples))
    shots = "\n\n".join(f"Text: {text}\nLabel: {label}" for text, label in examples)
    system = "Classify the text into one of these labels: " + ", ".join(candidates) + ". Answer with the label only."
    return system, f"{shots}\n\nText: {query}\nLabel:", candidates


def few_shot_label(lm: LocalLM, query: str, examples: list[tuple[str, str]], *, average: bool = True) -> FewShotChoice:
    """Show the retrieved examples, then pick the likeliest of their labels for `query`, scoring
    a label per token (`average`) or by its total log-probability."""
    prompt, candidates = few_shot_prompt(lm, query, examples)
    scores = dict(zip(candidates, lm.continuation_logprobs(prompt, candidates, average=average), strict=True))
    return FewShotChoice(max(scores, key=lambda c: scores[c]), scores)


@dataclass(frozen=True)
class Answer:
    text: str
    sources: list[str]  # ids of the passages the answer cites (all retrieved when it cites none)


_CITATION = re.compile(r"\[(\d+)\]")


def answer_with_sources(
    lm: LocalLM, question: str, passages: list[tuple[str, str]], max_new_tokens: int = 96
) -> Answer:
    """Answer from numbered passages, asking for [n] citations; map them back to passage ids."""
    numbered = "\n\n".join(f"[{i}] {text}" for i, (_, text) in enumerate(passages, start=1))
    system = (
        "Answer the question using only the numbered passages. Cite the passages you use like [1]. "
        "If they do not contain the answer, say you do not know."
    )
    text = lm.generate(lm.chat_prompt(system, f"{numbered}\n\nQuestion: {question}"), max_new_tokens)
    cited = [int(n) for n in _CITATION.findall(text) if 1 <= int(n) <= len(passages)]
    sources = [passages[n - 1][0] for n in dict.fromkeys(cited)] or [pid for pid, _ in passages]
    return Answer(_CITATION.sub("", text).strip(), sources)
