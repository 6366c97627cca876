"""The probe of generation data: does the base model already answer, does a retrieved
example already hold the answer, and how much does the model have left to learn?

Three cheap measurements, each standing for an arm: the base model's zero-shot answers for
`prompting`, the nearest other training example's answer for `rag` (few-shot with retrieved
examples can at best copy or adapt it), and the base model's loss on the reference completions
for the trained arms (a model that already predicts the answers has little to learn).
"""

from __future__ import annotations

import random
from typing import Any

from tunewise.data.shapes import Dataset
from tunewise.names import Progress

LOSS_EXAMPLES = 32  # completions the base model's loss is measured on
ZERO_SHOT_EXAMPLES = 8  # answers generated: each costs seconds on a CPU
NEAREST_POOL = 2_000  # examples searched for each one's nearest other (longer inputs cost more to embed)


def measure_answers(
    data: Dataset, embedder_name: str, lm_name: str, *, seed: int, progress: Progress | None = None
) -> Any:
    """`AnswerSignals` for `data` (prompt/completion pairs, chat or questions with answers)."""
    from rag.embed import Embedder
    from rag.index import vector_search
    from tunewise.data.shapes import answer_token_budget, conversation, input_text, target_text
    from tunewise.inference import LocalLM, chat_prompt, greedy_answers
    from tunewise.metrics import exact_match, token_f1
    from tunewise.probes import AnswerSignals

    report = progress or (lambda _stage, _done: None)
    rng = random.Random(seed)
    positions = list(range(len(data)))
    rng.shuffle(positions)
    pool = sorted(positions[:NEAREST_POOL])
    answers = [target_text(data.shape, data.records[p]) for p in pool]

    report("embedding the inputs", 0.0)
    vectors = Embedder(embedder_name).encode([input_text(data.shape, data.records[p]) for p in pool])
    scores, nearest = vector_search(vectors)(vectors, 2)
    matches, overlaps = [], []
    for row, gold in enumerate(answers):
        other = next((int(p) for p in nearest[row] if p not in (row, -1)), None)
        if other is None:
            continue
        matches.append(exact_match(answers[other], [gold]))
        overlaps.append(token_f1(answers[other], [gold]))
    del scores

    report("the base model's loss on the answers", 0.3)
    lm = LocalLM(lm_name)

    def prompt_of(position: int) -> str:
        return chat_prompt(lm.tokenizer, conversation(data.shape, data.records[position])[:-1])

    measured = positions[:LOSS_EXAMPLES]
    losses = [-lm.continuation_logprobs(prompt_of(p), [target_text(data.shape, data.records[p])])[0] for p in measured]

    report("zero-shot answers", 0.6)
    asked = positions[:ZERO_SHOT_EXAMPLES]
    # One left-padded batch: on CPU cores eight answers cost little more than one.
    answered = greedy_answers(lm.model, lm.tokenizer, [prompt_of(p) for p in asked], answer_token_budget(data))
    references = [[target_text(data.shape, data.records[p])] for p in asked]
    exact = [exact_match(answer, gold) for answer, gold in zip(answered, references, strict=True)]
    f1 = [token_f1(answer, gold) for answer, gold in zip(answered, references, strict=True)]
    report("done", 1.0)

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    return AnswerSignals(
        base_loss=mean(losses),
        loss_examples=len(losses),
        nearest_match=mean(matches),
        nearest_f1=mean(overlaps),
        zero_shot_exact=mean(exact),
        zero_shot_f1=mean(f1),
        zero_shot_examples=len(asked),
    )
