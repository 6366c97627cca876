"""Label-likelihood scoring: how long one example takes with every BANKING77 label (77) as a
candidate, three ways, in one run on the same prompts:

    whole      one sequence per label, prompt included (the textbook way)
    batched    the prompt once, then a batch of labels on copies of its cache
    packed     the prompt once (its shared head reused from the previous prompt), then every
               label packed into one pass (what tunewise does)

    python benchmarks/bench_label_scoring.py             # 3 BANKING77 questions (a few minutes)
    python benchmarks/bench_label_scoring.py --examples 10

It prints seconds per example and the ratios, and checks that the three agree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BANKING77 = REPO.parent / "shared" / "data" / "banking77"


def main() -> None:
    import csv
    import json

    import torch

    from rag.prompted import TEMPLATES
    from tunewise.continuations import ContinuationScorer
    from tunewise.inference import LocalLM

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args()
    if not BANKING77.is_dir():
        sys.exit(f"{BANKING77} is missing: this benchmark needs ../shared/data/banking77")
    labels = sorted(json.loads((BANKING77 / "categories.json").read_text()))
    with open(BANKING77 / "test.csv", newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][: args.examples]
    lm = LocalLM()
    prompts = [TEMPLATES["instruction"].prompt(lm, text, labels) for text in texts]

    def whole(prompt: str) -> list[float]:
        prompt_ids = lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        scores = []
        for label in labels:
            ending = lm.tokenizer(label, add_special_tokens=False)["input_ids"]
            with torch.inference_mode():
                logits = lm.model(input_ids=torch.tensor([prompt_ids + ending], device=lm.device)).logits[0].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            scores.append(sum(float(logprobs[len(prompt_ids) - 1 + i, t]) for i, t in enumerate(ending)))
        return scores

    batched = ContinuationScorer(lm.model, lm.tokenizer, lm.device, packing=False)
    packed = ContinuationScorer(lm.model, lm.tokenizer, lm.device)
    ways = {
        "whole": whole,
        "batched": lambda prompt: [t for t, _ in batched.totals(prompt, labels)],
        "packed": lambda prompt: [t for t, _ in packed.totals(prompt, labels)],
    }
    for way in ways.values():
        way(prompts[0])  # warm up
    seconds = {name: 0.0 for name in ways}
    worst = 0.0
    for prompt in prompts:
        results = {}
        for name, way in ways.items():
            started = time.perf_counter()
            results[name] = way(prompt)
            seconds[name] += time.perf_counter() - started
        worst = max(worst, *(abs(a - b) for a, b in zip(results["whole"], results["packed"], strict=True)))
    tokens = len(lm.tokenizer(prompts[0], add_special_tokens=False)["input_ids"])
    print(f"{len(prompts)} examples, {len(labels)} labels, prompts of about {tokens} tokens, device {lm.device}")
    for name in ways:
        print(
            f"{name:8s} {seconds[name] / len(prompts):6.2f} s an example, {seconds['whole'] / seconds[name]:5.1f}x whole"
        )
    print(f"largest difference from whole sequences: {worst:.1e} (log-probability)")


if __name__ == "__main__":
    main()
