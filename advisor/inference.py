"""Loading and running a causal LM for inference, shared by every arm.

Both the training harness (trying a model, scoring a tuned one) and the retrieval arm
(few-shot labels, cited answers) need the same loading and decoding; it lives here, with
torch and transformers imported only when a model is actually loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.errors import ModelError
from advisor.models import DEFAULT_CAUSAL_LM, resolve_model

if TYPE_CHECKING:
    import torch


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` if given ("cpu", "cuda", "cuda:1", "mps"), else CUDA, then Apple MPS, then CPU:
    the same code runs on a laptop, a CPU server or a GPU."""
    import torch

    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class LocalLM:
    """A causal LM with its tokenizer, on the best device, in inference mode."""

    def __init__(self, model: str = DEFAULT_CAUSAL_LM, device: str | None = None) -> None:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        resolved = resolve_model(model, prepare=True)
        if resolved.kind == "encoder":
            raise ModelError(
                f"model '{model}' is an encoder and cannot generate text; use a causal LM such as smollm2-135m-instruct"
            )
        transformers.utils.logging.disable_progress_bar()
        self.device = pick_device(device)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(resolved.path)
        loaded: Any = AutoModelForCausalLM.from_pretrained(resolved.path)
        self.model: Any = loaded.to(self.device).eval()
        self.name = model

    def chat_prompt(self, system: str | None, user: str) -> str:
        """The model's own chat format when it has one, else plain text."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        if self.tokenizer.chat_template:
            return str(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        return f"{system}\n\n{user}\n" if system else f"{user}\n"

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
