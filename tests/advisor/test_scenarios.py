"""The advisor on a table of cases: the expected top choice and the reason that must carry it.

Each case names the criterion (and the source) that has to appear among the winner's reasons,
so a rule that silently stops firing fails here, not just a change of ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from advisor.answers import Answers
from advisor.recommend import recommend
from advisor.sources import SOURCES


@dataclass(frozen=True)
class Case:
    answers: dict[str, Any]
    expected: str
    criterion: str  # must appear among the winner's reasons
    source: str  # ... citing this source (a substring of its short name)
    blocked: tuple[str, str] | None = None  # (method, criterion) that must be a hard constraint
    not_top: tuple[str, ...] = field(default_factory=tuple)


GPU24 = {"gpu_memory_gb": 24}
CPU = {"gpu_memory_gb": 0, "ram_gb": 16, "cpu_cores": 8}

CASES: dict[str, Case] = {
    # --- the guide, "When Not to Fine-Tune"
    "one-off job": Case(
        {"task": "generation", "n_examples": 500, "one_off": True}, "prompting", "one-off use", "guide §6 When Not"
    ),
    "one-off over documents still retrieves": Case(
        {"task": "qa", "n_documents": 100, "one_off": True}, "rag", "knowledge injection", "Ovadia"
    ),
    "too little data: 5 labelled examples": Case(
        {"task": "classification", "n_examples": 5, "n_labels": 2},
        "rag",
        "too little data",
        "guide §6 When Not",
        blocked=("lora", "too little data"),
    ),
    "too little data: 30 examples to generate from": Case(
        {"task": "generation", "n_examples": 30}, "rag", "too little data", "guide §6 When Not"
    ),
    "too little data: 9 examples cannot be fine-tuned at all": Case(
        {"task": "extraction", "n_examples": 9},
        "rag",
        "too little data",
        "guide §6 When Not",
        blocked=("full", "too little data"),
    ),
    "no data at all": Case(
        {"task": "generation"}, "prompting", "", "", blocked=("rag", "nothing to retrieve"), not_top=("lora",)
    ),
    "a system prompt already does it": Case(
        {"task": "generation", "n_examples": 2000, "prompt_controllable": True},
        "prompting",
        "controllable by prompt",
        "guide §6 When Not",
    ),
    "structured input already does it, even for classification": Case(
        {"task": "classification", "n_examples": 300, "n_labels": 3, "prompt_controllable": True},
        "prompting",
        "controllable by prompt",
        "guide §6 When Not",
    ),
    # --- the guide, "Do fine-tune if"
    "specific tone of voice": Case(
        {"task": "style", "n_examples": 2000, "base_model": "llama-3-8b", **GPU24},
        "lora",
        "tone and style",
        "guide §6 Do",
    ),
    "precise domain adaptation": Case(
        {
            "task": "extraction",
            "n_examples": 5000,
            "needs_domain_adaptation": True,
            "base_model": "mistral-7b",
            "gpu_memory_gb": 80,
        },
        "lora",
        "domain adaptation",
        "guide §6 Do",
    ),
    "production model with reusable logic": Case(
        {"task": "generation", "n_examples": 400}, "lora", "production use", "guide §6 Do"
    ),
    # --- knowledge, retrieval and citations
    "facts change often": Case(
        {
            "task": "qa",
            "n_documents": 5000,
            "knowledge_changes": "often",
            "n_examples": 20,
            "base_model": "mistral-7b",
            **GPU24,
        },
        "rag",
        "changing knowledge",
        "Lewis",
    ),
    "knowledge base, no examples": Case(
        {"task": "qa", "n_documents": 2000}, "rag", "knowledge injection", "Ovadia", blocked=("lora", "too little data")
    ),
    "citations required": Case(
        {"task": "qa", "n_documents": 300, "needs_citations": True, "n_examples": 40}, "rag", "citations", "Lewis"
    ),
    "documents and many examples: gains add up": Case(
        {"task": "qa", "n_documents": 500, "n_examples": 800}, "rag+lora", "combined gains", "Balaguer"
    ),
    "documents, examples and citations": Case(
        {"task": "qa", "n_documents": 1000, "needs_citations": True, "n_examples": 3000, "knowledge_changes": "rarely"},
        "rag+lora",
        "combined gains",
        "Balaguer",
    ),
    # --- classification
    "BANKING77-sized intent detection": Case(
        {"task": "classification", "n_examples": 10003, "n_labels": 77, "seq_len": 40, "tokens_per_example": 15},
        "full",
        "plenty of data",
        "OpenAI",
        not_top=("prompting",),
    ),
    "a few hundred labelled examples on BERT": Case(
        {"task": "classification", "n_examples": 500, "n_labels": 5, "base_model": "bert-base-uncased"},
        "lora",
        "enough data",
        "OpenAI",
    ),
    "classification on a CPU": Case(
        {"task": "classification", "n_examples": 2000, "n_labels": 10, **CPU},
        "full",  # a small encoder on CPU cores trains faster and better in full (measured)
        "measured on CPU",
        "tunewise benchmarks",
        blocked=("qlora", "no 4-bit kernels"),
    ),
    # --- techniques and memory
    "65B model on one 48 GB GPU (the QLoRA paper's case)": Case(
        {"task": "style", "n_examples": 5000, "base_model": "llama-65b", "gpu_memory_gb": 48, "must_run_locally": True},
        "qlora",
        "memory",
        "QLoRA",
        blocked=("lora", "memory"),
    ),
    "13B model on 24 GB, data must stay local": Case(
        {"task": "style", "n_examples": 2000, "base_model": "llama-2-13b", "must_run_locally": True, **GPU24},
        "qlora",
        "memory",
        "QLoRA",
        blocked=("full", "memory"),
    ),
    "7B model on a 12 GB card, local only": Case(
        {
            "task": "generation",
            "n_examples": 200,
            "base_model": "llama-2-7b",
            "gpu_memory_gb": 12,
            "must_run_locally": True,
        },
        "qlora",
        "memory",
        "QLoRA",
    ),
    "lots of data on a small model": Case(
        {"task": "generation", "n_examples": 100000, "base_model": "qwen2.5-0.5b", "gpu_memory_gb": 80},
        "full",
        "plenty of data",
        "guide §5",
    ),
    "70B on eight 80 GB GPUs: full does not fit, LoRA does": Case(
        {
            "task": "extraction",
            "n_examples": 50000,
            "needs_domain_adaptation": True,
            "base_model": "llama-2-70b",
            "gpu_memory_gb": 80,
            "gpu_count": 8,
            "must_run_locally": True,
        },
        "lora",
        "domain adaptation",
        "guide §6 Do",
        blocked=("full", "memory"),
    ),
    "a bare parameter count": Case(
        {"task": "style", "n_examples": 3000, "model_params": 7e9, "gpu_memory_gb": 80},
        "lora",
        "tone and style",
        "guide §6 Do",
    ),
    "instruction tuning on a CPU": Case(
        {"task": "generation", "n_examples": 1000, **CPU}, "lora", "plenty of data", "OpenAI"
    ),
    # --- money, time and latency
    "a budget that rules out training": Case(
        {"task": "style", "n_examples": 20000, "base_model": "llama-2-13b", "gpu_memory_gb": 80, "budget_usd": 1.0},
        "prompting",
        "",
        "",
        blocked=("lora", "budget"),
    ),
    "a time budget that rules out training on a CPU": Case(
        {"task": "generation", "n_examples": 5000, "budget_hours": 0.5, **CPU},
        "prompting",
        "",
        "",
        blocked=("lora", "time budget"),
    ),
    "tight latency favours a fine-tuned model over long prompts": Case(
        {"task": "generation", "n_examples": 70, "latency_ms": 200},
        "lora",
        "latency",
        "tunewise",
        not_top=("rag", "prompting"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_scenario(name: str) -> None:
    case = CASES[name]
    result = recommend(Answers(**case.answers))
    top = result.ranking[0]
    ranking = [(r.method, r.score, r.feasible) for r in result.ranking]
    assert result.recommended == case.expected, ranking
    assert top.method == case.expected and top.feasible
    if case.criterion:
        matching = [r for r in top.reasons if r.criterion == case.criterion]
        assert matching, [(r.criterion, r.points) for r in top.reasons]
        assert any(case.source in SOURCES[r.source].short for r in matching), [
            SOURCES[r.source].short for r in matching
        ]
    if case.blocked is not None:
        method, criterion = case.blocked
        blocked = next(r for r in result.ranking if r.method == method)
        assert any(c.criterion == criterion for c in blocked.constraints), blocked.constraints
        assert not blocked.feasible
    for method in case.not_top:
        assert result.recommended != method


def test_the_table_covers_every_method_and_every_rule_of_the_guide() -> None:
    winners = {case.expected for case in CASES.values()}
    assert winners == {"prompting", "rag", "full", "lora", "qlora", "rag+lora"}
    criteria = {case.criterion for case in CASES.values()}
    # When Not to Fine-Tune: one-off responses, too little data, prompt-controllable behaviour.
    assert {"one-off use", "too little data", "controllable by prompt"} <= criteria
    # Do fine-tune if: domain adaptation, tone/style, a production model.
    assert {"domain adaptation", "tone and style", "production use"} <= criteria
    assert len(CASES) >= 25
