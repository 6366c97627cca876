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
from tunewise.models import resolve_model, trust_remote_code
from tunewise.names import DEFAULT_CAUSAL_LM

if TYPE_CHECKING:
    import torch

DEVICE_KINDS = ("cpu", "cuda", "mps")
CONTINUATION_BATCH = 32  # continuations scored per pass: bounds the copied prompt cache


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
        return chat_prompt(self.tokenizer, messages)

    def continuation_logprobs(self, prompt: str, continuations: list[str], *, average: bool = True) -> list[float]:
        """Log-probability of each continuation after `prompt`: per token (`average`) or in total.

        The prompt is run once and its key/value cache shared by every continuation, so scoring
        77 labels after a long prompt costs one prompt pass plus 77 short ones, not 77 long ones.
        """
        import torch

        prompt_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        endings = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
        if not prompt_ids or not all(endings):
            raise ModelError("label scoring needs a non-empty prompt and non-empty labels")
        with torch.inference_mode():
            first = self.model(input_ids=torch.tensor([prompt_ids], device=self.device), use_cache=True)
            first_logprobs = torch.log_softmax(first.logits[0, -1].float(), dim=-1)
            scores: list[float] = []
            for start in range(0, len(endings), CONTINUATION_BATCH):
                chunk = endings[start : start + CONTINUATION_BATCH]
                scores += self._score_endings(_cache_of(first), len(prompt_ids), first_logprobs, chunk)
        if average:
            return [score / len(ending) for score, ending in zip(scores, endings, strict=True)]
        return scores

    def _score_endings(
        self, prompt_cache: Any, prompt_length: int, first_logprobs: torch.Tensor, endings: list[list[int]]
    ) -> list[float]:
        """Total log-probabilities of `endings` after a prompt already in `prompt_cache` (right-padded batch)."""
        import copy

        import torch

        longest = max(len(e) for e in endings)
        totals = [float(first_logprobs[e[0]]) for e in endings]
        if longest > 1:
            # Only the tokens after the first need a pass: each is predicted from the one before.
            inputs = torch.zeros((len(endings), longest - 1), dtype=torch.long)
            mask = torch.zeros((len(endings), prompt_length + longest - 1), dtype=torch.long)
            mask[:, :prompt_length] = 1
            for row, ending in enumerate(endings):
                inputs[row, : len(ending) - 1] = torch.tensor(ending[:-1])
                mask[row, prompt_length : prompt_length + len(ending) - 1] = 1
            cache = copy.deepcopy(prompt_cache)
            cache.batch_repeat_interleave(len(endings))
            logits = self.model(
                input_ids=inputs.to(self.device),
                attention_mask=mask.to(self.device),
                **{_cache_argument(self.model): cache},
            ).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            for row, ending in enumerate(endings):
                for position, token in enumerate(ending[1:]):
                    totals[row] += float(logprobs[row, position, token])
        return totals

    def generate(self, prompt: str, max_new_tokens: int = 96) -> str:
        """The greedy continuation of one already-formatted prompt."""
        return greedy_answers(self.model, self.tokenizer, [prompt], max_new_tokens)[0]


def _cache_argument(model: Any) -> str:
    """The keyword a model's forward takes its key/value cache by: `cache` from transformers 5.2x,
    `past_key_values` before (and still on some architectures)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


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
