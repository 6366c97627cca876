"""Scoring many short continuations (labels) after one prompt, fast.

Label-likelihood classification asks, for every example, how likely each label is after the
prompt. Done naively that is one long sequence per label. Three things make it cheap:

1. The prompt runs once; every label continues from its key/value cache.
2. The labels do not get a copy of that cache each: their tokens are packed into one sequence
   whose attention mask lets each token see the prompt and the earlier tokens of its own label
   only, with positions restarting after the prompt for every label. One short pass scores all
   of them (77 BANKING77 labels: 2.6 s instead of 9.4 s with a batch of cache copies).
3. Consecutive prompts share most of their tokens (the instructions and the label list come
   before the text), so the cache of the previous prompt is cut back to the shared tokens and
   only the rest runs.

A model that refuses a custom attention mask falls back to a right-padded batch of cache copies.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

FALLBACK_BATCH = 32  # labels per pass when packing is refused: bounds the copied caches


class ContinuationScorer:
    def __init__(self, model: Any, tokenizer: Any, device: Any, *, packing: bool = True) -> None:
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self._ids: list[int] = []  # the previous prompt, whose cache is kept
        self._cache: Any = None
        self._packing = packing  # False: always the batched fallback

    def totals(self, prompt: str, continuations: list[str]) -> list[tuple[float, int]]:
        """(total log-probability, token count) of each continuation after `prompt`."""
        import torch

        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        endings = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
        if not ids or not all(endings):
            from tunewise.errors import ModelError

            raise ModelError("label scoring needs a non-empty prompt and non-empty labels")
        with torch.inference_mode():
            last_logits = self._prompt(ids)
            first = torch.log_softmax(last_logits.float(), dim=-1)
            scores = self._packed(len(ids), first, endings) if self._packing else None
            if scores is None:
                scores = []
                for start in range(0, len(endings), FALLBACK_BATCH):
                    scores += self._batched(len(ids), first, endings[start : start + FALLBACK_BATCH])
        return [(score, len(ending)) for score, ending in zip(scores, endings, strict=True)]

    def _prompt(self, ids: list[int]) -> torch.Tensor:
        """Run the prompt, reusing the previous prompt's cache for the tokens they share; the
        logits after its last token."""
        import torch

        shared = 0
        limit = min(len(ids), len(self._ids)) - 1  # at least one token runs, for the logits
        while shared < limit and ids[shared] == self._ids[shared]:
            shared += 1
        cache = self._cache if shared > 0 else None
        self._ids, self._cache = [], None  # until this pass succeeds, nothing is shared
        if cache is not None:
            _keep(cache, shared)
        else:
            shared = 0
        kwargs = {_cache_argument(self.model): cache} if cache is not None else {}
        output = self.model(input_ids=torch.tensor([ids[shared:]], device=self.device), use_cache=True, **kwargs)
        self._ids, self._cache = ids, _cache_of(output)
        logits: torch.Tensor = output.logits[0, -1]
        return logits

    def _packed(self, prompt_length: int, first: torch.Tensor, endings: list[list[int]]) -> list[float] | None:
        """Every ending's total after the cached prompt, from one pass over their packed tokens."""
        import torch

        totals = [float(first[e[0]]) for e in endings]
        tokens, positions, owners = [], [], []
        for index, ending in enumerate(endings):
            for offset, token in enumerate(ending[:-1]):  # each token predicts the next
                tokens.append(token)
                positions.append(prompt_length + offset)
                owners.append(index)
        if not tokens:
            return totals
        n = len(tokens)
        owner = torch.tensor(owners)
        position = torch.tensor(positions)
        visible = (owner[:, None] == owner[None, :]) & (position[None, :] <= position[:, None])
        blocked = torch.finfo(self.model.dtype).min
        mask = torch.full((1, 1, n, prompt_length + n), blocked, dtype=self.model.dtype)
        mask[..., :prompt_length] = 0
        mask[0, 0, :, prompt_length:] = torch.where(visible, 0.0, blocked)
        try:
            logits = self.model(
                input_ids=torch.tensor([tokens], device=self.device),
                attention_mask=mask.to(self.device),
                position_ids=position[None].to(self.device),
                **{_cache_argument(self.model): self._cache},
            ).logits[0]
        except (TypeError, ValueError, RuntimeError):
            self._packing = False  # this model wants a 2-D mask: batch from now on
            _keep(self._cache, prompt_length)
            return None
        _keep(self._cache, prompt_length)  # keep the prompt's cache only, for the next prompt
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        row = 0
        for index, ending in enumerate(endings):
            for token in ending[1:]:
                totals[index] += float(logprobs[row, token])
                row += 1
        return totals

    def _batched(self, prompt_length: int, first: torch.Tensor, endings: list[list[int]]) -> list[float]:
        """The fallback: a right-padded batch of endings, each on its own copy of the prompt's cache."""
        import torch

        totals = [float(first[e[0]]) for e in endings]
        longest = max(len(e) for e in endings)
        if longest == 1:
            return totals
        inputs = torch.zeros((len(endings), longest - 1), dtype=torch.long)
        mask = torch.zeros((len(endings), prompt_length + longest - 1), dtype=torch.long)
        mask[:, :prompt_length] = 1
        for row, ending in enumerate(endings):
            inputs[row, : len(ending) - 1] = torch.tensor(ending[:-1])
            mask[row, prompt_length : prompt_length + len(ending) - 1] = 1
        cache = copy.deepcopy(self._cache)
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


def _keep(cache: Any, length: int) -> None:
    """Cut `cache` back to its first `length` tokens (transformers takes the count to remove)."""
    extra = int(cache.get_seq_length()) - length
    if extra > 0:
        cache.crop(-extra)


def _cache_argument(model: Any) -> str:
    """The keyword a model's forward takes its key/value cache by: `cache` from transformers 5.2x,
    `past_key_values` before (and still on some architectures)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
