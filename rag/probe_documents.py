"""The probe of the user's documents: does retrieval find the answers, does the model read them
off the passages, and what does indexing cost here?

Measured on training questions only (never the test ones), with the same pieces `rag` uses:
- recall@3 of dense, lexical and hybrid retrieval on a seeded sample of `RECALL_QUESTIONS`;
- `ANSWERED` of those answered from the best retriever's passages, with answered training
  questions (never the one asked) shown first as `rag` shows them;
- the seconds chunking, embedding and indexing every document took: what absorbing new
  documents costs per document, against training again.

Cached by the documents', questions' and models' fingerprints, as the data's own probe is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random

from tunewise.data.shapes import Dataset
from tunewise.probes import PROBE_VERSION, DocumentSignals, probe_cache

RECALL_QUESTIONS = 100
ANSWERED = 8
DEPTH = "3"


def run_document_probe(
    documents: Dataset,
    questions: Dataset,
    *,
    embedder: str | None = None,
    lm: str | None = None,
    seed: int = 42,
    fresh: bool = False,
) -> DocumentSignals | None:
    """The documents' signals against `questions` (the training part), cached; None with no questions."""
    from tunewise.atomic import atomic_write_json
    from tunewise.data.protocol import fingerprint
    from tunewise.names import DEFAULT_CAUSAL_LM, DEFAULT_EMBEDDER

    if not questions.records or not documents.records:
        return None
    models = {"embedder": embedder or DEFAULT_EMBEDDER, "lm": lm or DEFAULT_CAUSAL_LM}
    text = json.dumps(
        {"documents": fingerprint(documents), "questions": fingerprint(questions), "models": models,
         "seed": seed, "version": PROBE_VERSION},
        sort_keys=True,
    )  # fmt: skip
    cached = probe_cache() / f"documents-{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"
    if not fresh and cached.is_file():
        with contextlib.suppress(OSError, ValueError, TypeError):
            return DocumentSignals(**json.loads(cached.read_text(encoding="utf-8")))
    signals = measure_documents(documents, questions, models["embedder"], models["lm"], seed=seed)
    with contextlib.suppress(OSError):
        from dataclasses import asdict

        atomic_write_json(cached, asdict(signals))
    return signals


def measure_documents(
    documents: Dataset, questions: Dataset, embedder_name: str, lm_name: str, *, seed: int
) -> DocumentSignals:
    import time

    from rag.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP
    from rag.documents import Demonstrations, DocumentRetrieval, documents_conversation, parse_reply, recall_table
    from rag.embed import Embedder
    from rag.passages import RETRIEVERS, Passages
    from tunewise.data.shapes import gold_answers, input_text
    from tunewise.inference import LocalLM, chat_prompt
    from tunewise.metrics import answer_metrics

    embedder = Embedder(embedder_name)
    started = time.perf_counter()
    passages = Passages.of(documents, embedder, DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP)
    index_seconds = time.perf_counter() - started

    positions = list(range(len(questions)))
    random.Random(seed).shuffle(positions)
    measured = questions.subset(sorted(positions[:RECALL_QUESTIONS]))
    recall = {kind: row[DEPTH] for kind, row in recall_table(passages, measured).items()}
    best = max(RETRIEVERS, key=lambda kind: recall[kind])
    retrieval = DocumentRetrieval(passages, best, {})

    asked = questions.subset(sorted(positions[:ANSWERED]))
    others = questions.subset(sorted(positions[ANSWERED:]))
    demonstrations = Demonstrations(others, retrieval, embedder)
    texts = [input_text(asked.shape, r) for r in asked.records]
    found = retrieval.search(texts, 1)
    before = demonstrations.for_questions(texts, 2)
    lm = LocalLM(lm_name)
    budget = 32
    replies = [
        parse_reply(lm.generate(chat_prompt(lm.tokenizer, documents_conversation(q, shown, demos)), budget), shown)
        for q, shown, demos in zip(texts, found, before, strict=True)
    ]
    f1 = answer_metrics([r.answer for r in replies], gold_answers(asked))["token_f1"] if replies else 0.0
    return DocumentSignals(
        n_documents=len(documents),
        n_passages=len(passages),
        questions=len(measured),
        recall={kind: round(value, 4) for kind, value in recall.items()},
        answered_f1=round(f1, 4),
        answered=len(replies),
        index_seconds=round(index_seconds, 2),
    )
