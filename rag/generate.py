"""The local instruct model in the two ways retrieval uses it: scoring label continuations
(few-shot classification) and answering from cited passages (question answering)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from advisor.errors import ModelError
from advisor.models import DEFAULT_CAUSAL_LM, resolve_model

MAX_CANDIDATES = 20  # labels scored per query; more come from the neighbours only


class LocalLM:
    """A causal LM with its tokenizer, on the best device, in inference mode."""

    def __init__(self, model: str = DEFAULT_CAUSAL_LM, device: str | None = None) -> None:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from harness.device import pick_device

        resolved = resolve_model(model, prepare=True)
        if resolved.kind == "encoder":
            raise ModelError(f"'{model}' is an encoder; few-shot prompting and answers need a causal LM")
        transformers.utils.logging.disable_progress_bar()
        self.device = pick_device(device)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(resolved.path)
        loaded: Any = AutoModelForCausalLM.from_pretrained(resolved.path)
        self.model: Any = loaded.to(self.device).eval()
        self.name = model

    def chat_prompt(self, system: str, user: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if self.tokenizer.chat_template:
            return str(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        return f"{system}\n\n{user}\n"

    def continuation_logprobs(self, prompt: str, continuations: list[str]) -> list[float]:
        """Mean log-probability of each continuation's tokens after `prompt` (one batched pass)."""
        import torch

        prompt_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        sequences = [prompt_ids + self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.inference_mode():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
        scores = []
        for row, sequence in enumerate(sequences):
            targets = torch.tensor(sequence[len(prompt_ids) :], device=logprobs.device)
            positions = torch.arange(len(prompt_ids) - 1, len(sequence) - 1, device=logprobs.device)
            scores.append(float(logprobs[row, positions, targets].mean()))
        return scores

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        import torch

        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return str(self.tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True)).strip()


@dataclass(frozen=True)
class FewShotChoice:
    label: str
    scores: dict[str, float]


def few_shot_label(lm: LocalLM, query: str, examples: list[tuple[str, str]], labels: list[str]) -> FewShotChoice:
    """Show the retrieved (text, label) examples, then pick the likeliest label for `query`."""
    neighbour_labels = list(dict.fromkeys(label for _, label in examples))
    candidates = labels if len(labels) <= MAX_CANDIDATES else neighbour_labels
    shots = "\n\n".join(f"Text: {text}\nLabel: {label}" for text, label in examples)
    system = "Classify the text into one of these labels: " + ", ".join(candidates) + ". Answer with the label only."
    prompt = lm.chat_prompt(system, f"{shots}\n\nText: {query}\nLabel:")
    scores = dict(zip(candidates, lm.continuation_logprobs(prompt, candidates), strict=True))
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
