"""Loading and running a causal LM for inference, shared by every arm.

Both the training harness (trying a model, scoring a tuned one) and the retrieval arm
(few-shot labels, cited answers) need the same loading and decoding; it lives here, with
torch and transformers imported only when a model is actually loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.errors import ConfigError, ModelError
from advisor.model_files import check_model_folder, load_errors
from advisor.models import DEFAULT_CAUSAL_LM, resolve_model, trust_remote_code

if TYPE_CHECKING:
    import torch

DEVICE_KINDS = ("cpu", "cuda", "mps")


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` if given ("cpu", "cuda", "cuda:1", "mps"), else CUDA, then Apple MPS, then CPU:
    the same code runs on a laptop, a CPU server or a GPU."""
    import torch

    if requested:
        return _checked_device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def present_devices() -> list[str]:
    """The devices this machine has, as `--device` takes them."""
    import torch

    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return ["cpu", *cuda, *(["mps"] if _mps_available() else [])]


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


def _checked_device(requested: str) -> torch.device:
    """`requested` as a torch device, if this machine has it; `ConfigError` naming the ones it has otherwise.

    torch itself accepts "cuda" on a machine without a GPU and fails only at the first transfer,
    after the model has loaded.
    """
    import torch

    present = ", ".join(present_devices())
    try:
        device = torch.device(requested.strip())
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"--device {requested}: not a device name; give cpu, cuda, cuda:N or mps (this machine has: {present})"
        ) from exc
    if device.type not in DEVICE_KINDS:
        raise ConfigError(
            f"--device {requested}: tunewise runs on cpu, cuda, cuda:N or mps (this machine has: {present})"
        )
    has_it = (
        device.type == "cpu"
        or (device.type == "cuda" and torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count())
        or (device.type == "mps" and _mps_available() and not device.index)
    )
    if not has_it:
        raise ConfigError(
            f"--device {requested}: this machine has no such device (it has: {present}); pick one of those, or leave "
            "--device out to use the fastest"
        )
    return device


class LocalLM:
    """A causal LM with its tokenizer, on the best device, in inference mode."""

    def __init__(self, model: str = DEFAULT_CAUSAL_LM, device: str | None = None) -> None:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = pick_device(device)  # a wrong --device fails before a GGUF conversion, not after
        resolved = resolve_model(model, prepare=True)
        check_model_folder(resolved.path)
        if resolved.kind == "encoder":
            raise ModelError(
                f"model '{model}' is an encoder and cannot generate text; use a causal LM such as smollm2-135m-instruct"
            )
        transformers.utils.logging.disable_progress_bar()
        trust = trust_remote_code()
        with load_errors(resolved.path):
            self.tokenizer: Any = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=trust)
            loaded: Any = AutoModelForCausalLM.from_pretrained(resolved.path, trust_remote_code=trust)
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
