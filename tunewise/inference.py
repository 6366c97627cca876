"""Loading and running a causal LM for inference, shared by every arm.

Both the training harness (trying a model, scoring a tuned one) and the retrieval arm
(few-shot labels, cited answers) need the same loading and decoding; it lives here, with
torch and transformers imported only when a model is actually loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunewise.errors import ConfigError, ModelError
from tunewise.model_files import check_model_folder, load_errors
from tunewise.models import resolve_model
from tunewise.names import DEFAULT_CAUSAL_LM
from tunewise.trust import trust_remote_code

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
        self._scorer: Any = None

    def chat_prompt(self, system: str | None, user: str) -> str:
        """The model's own chat format when it has one, else plain text."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        return chat_prompt(self.tokenizer, messages)

    def continuation_logprobs(self, prompt: str, continuations: list[str], *, average: bool = True) -> list[float]:
        """Log-probability of each continuation after `prompt`: per token (`average`) or in total.

        How it stays fast with many labels and long prompts: `tunewise.continuations`.
        """
        if self._scorer is None:
            from tunewise.continuations import ContinuationScorer

            self._scorer = ContinuationScorer(self.model, self.tokenizer, self.device)
        totals = self._scorer.totals(prompt, continuations)
        return [total / count if average else total for total, count in totals]

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        """The greedy continuation of one already-formatted prompt."""
        return greedy_answers(self.model, self.tokenizer, [prompt], max_new_tokens)[0]


def chat_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt an answer to `messages` follows: the model's chat format when it has one, else plain text."""
    if tokenizer.chat_template:
        return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
    return "\n".join(m["content"] for m in messages) + "\n"


def greedy_answers(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> list[str]:
    """Greedy answers for already-formatted prompts, left-padded into one batch.

    The one decoding path of tunewise: `tunewise generate`, a trained run's answers, few-shot
    and retrieval answers all come from here, so the same model gives the same text everywhere.
    """
    import torch

    if tokenizer.pad_token is None:
        # Causal LMs often have no pad token; padded positions are masked, so any id works.
        tokenizer.pad_token = tokenizer.eos_token
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right edge of every row
    try:
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    device = next(model.parameters()).device
    with torch.inference_mode():
        output = model.generate(
            **encoded.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    width = encoded["input_ids"].shape[1]
    return [str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip() for row in output]


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str


def generate(
    model_name: str,
    prompts: list[str],
    *,
    max_new_tokens: int = 64,
    system: str | None = None,
    device: str | None = None,
) -> list[Generation]:
    """Answer each prompt with `model_name`, greedily (so answers are reproducible): `tunewise generate`."""
    if max_new_tokens < 1:
        raise ModelError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    lm = LocalLM(model_name, device=device)
    return [Generation(prompt, lm.generate(lm.chat_prompt(system, prompt), max_new_tokens)) for prompt in prompts]
