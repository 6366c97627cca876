"""Where each rule of the advisor comes from, so a user can check it and disagree precisely."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    key: str
    short: str  # what a reason prints
    full: str  # the reference, for docs and --json


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "guide:when-not",
            "guide §6 When Not to Fine-Tune",
            "AI Core Concepts (Part 15): Fine-Tuning Models, section 6: don't fine-tune for one-off responses, "
            "with too little data (use embeddings + RAG), or when system prompts or structured input control the behaviour",
        ),
        Source(
            "guide:do",
            "guide §6 Do fine-tune if",
            "AI Core Concepts (Part 15), section 6: fine-tune for precise domain adaptation, a specific tone, style "
            "or behaviour, or a production model with reusable logic",
        ),
        Source(
            "guide:table",
            "guide §2 Fine-Tuning vs Prompting",
            "AI Core Concepts (Part 15), section 2: prompting is shallow, instant and cheap; fine-tuning is deep, "
            "takes time and costs medium to high",
        ),
        Source(
            "guide:techniques",
            "guide §5 Techniques",
            "AI Core Concepts (Part 15), section 5: full fine-tuning updates all weights (costly); LoRA adds "
            "efficient adapters; QLoRA is its quantized, more memory-efficient version",
        ),
        Source(
            "ovadia2023",
            "Ovadia et al. 2023",
            "Ovadia, Brief, Mishaeli, Elisha. Fine-Tuning or Retrieval? Comparing Knowledge Injection in LLMs. "
            "arXiv:2312.05934. RAG beat unsupervised fine-tuning for new and existing knowledge on every model and "
            "task tried, e.g. Mistral-7B on current events: 0.875 with RAG, 0.504 fine-tuned",
        ),
        Source(
            "balaguer2024",
            "Balaguer et al. 2024",
            "Balaguer et al. RAG vs Fine-tuning: Pipelines, Tradeoffs, and a Case Study on Agriculture. "
            "arXiv:2401.08406. Fine-tuning added about 6 points of accuracy and RAG about 5 more: the gains add up",
        ),
        Source(
            "openai:ft",
            "OpenAI fine-tuning guide",
            "OpenAI, Fine-tuning guide: at least 10 examples are required; improvements are usually seen from "
            "50 to 100 examples; start from about 50 well-crafted demonstrations",
        ),
        Source(
            "qlora2023",
            "Dettmers et al. 2023 (QLoRA)",
            "Dettmers, Pagnoni, Holtzman, Zettlemoyer. QLoRA: Efficient Finetuning of Quantized LLMs. "
            "arXiv:2305.14314. 4-bit NormalFloat with double quantization matches 16-bit fine-tuning; LoRA on all "
            "linear layers is needed to match full fine-tuning; a 65B model fine-tunes in under 48 GB instead of "
            "over 780 GB",
        ),
        Source(
            "lora2021",
            "Hu et al. 2021 (LoRA)",
            "Hu et al. LoRA: Low-Rank Adaptation of Large Language Models. arXiv:2106.09685. Matches or beats full "
            "fine-tuning with up to 10,000x fewer trainable parameters and 3x less GPU memory; no added inference "
            "latency once merged",
        ),
        Source(
            "lewis2020",
            "Lewis et al. 2020 (RAG)",
            "Lewis et al. Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks. arXiv:2005.11401. "
            "Retrieved passages give provenance for each answer and can be updated without retraining",
        ),
        Source(
            "casanueva2020",
            "Casanueva et al. 2020",
            "Casanueva et al. Efficient Intent Detection with Dual Sentence Encoders. arXiv:2003.04807. Trained "
            "intent classifiers reach 93-94% on BANKING77; a nearest-neighbour vote over MiniLM embeddings reaches "
            "0.920 on the same test set (measured by tunewise)",
        ),
        Source(
            "kumar2022",
            "Kumar et al. 2022",
            "Kumar, Raghunathan, Jones, Ma, Liang. Fine-Tuning can Distort Pretrained Features and Underperform "
            "Out-of-Distribution. ICLR 2022, arXiv:2202.10054. A linear probe on frozen features can match or beat full "
            "fine-tuning, notably with little labelled data",
        ),
        Source(
            "probe",
            "tunewise probe",
            "What tunewise measured on your data before advising: a k-NN vote and a cross-validated linear head on "
            "frozen embeddings with its learning curve (labels), or the base model's loss, zero-shot answers and the "
            "nearest training answer (generation); with documents, retrieval recall@3 of dense, lexical and hybrid "
            "search, answers read off the passages, and the seconds indexing took; docs/advisor.md has the "
            "calibration table",
        ),
        Source(
            "benchmarks",
            "tunewise benchmarks",
            "tunewise's own measurements on 2 CPU cores, with the commands that reproduce them (docs/benchmarks.md)",
        ),
        Source(
            "estimator",
            "tunewise estimator",
            "tunewise's memory, time and cost estimator (advisor/estimate.py; docs/advisor.md explains the formulas)",
        ),
        Source(
            "tunewise",
            "tunewise reasoning",
            "A judgement of tunewise's own, stated in docs/advisor.md so that it can be disputed",
        ),
    )
}
