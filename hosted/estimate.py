"""Fine-tuning on OpenAI's API, priced beside local training.

Before any file exists, the tokens are estimated from the answers: each example's tokens
(under the local model's tokenizer, close to OpenAI's for English text) plus the chat format's
fixed cost per message. `tunewise export` and `tunewise validate` then count them exactly.
"""

from __future__ import annotations

from typing import Any

from hosted.prices import DEFAULT_EPOCHS, DEFAULT_MODEL, PRICES_AS_OF, job_cost
from hosted.tokens import TOKENS_PER_CONVERSATION, TOKENS_PER_MESSAGE

# A user turn and an assistant turn: what `tunewise export` writes for one example.
MESSAGES_PER_EXAMPLE = 2


def openai_job(
    n_examples: int, mean_tokens: int, model: str = DEFAULT_MODEL, epochs: int = DEFAULT_EPOCHS
) -> dict[str, Any]:
    """The estimated cost of fine-tuning `model` on `n_examples` of `mean_tokens` tokens each, with
    how to get the exact figure."""
    per_example = mean_tokens + MESSAGES_PER_EXAMPLE * TOKENS_PER_MESSAGE + TOKENS_PER_CONVERSATION
    cost = job_cost(model, n_examples * per_example, epochs)
    return cost.to_dict() | {
        "estimated": True,
        "prices_as_of": PRICES_AS_OF,
        "exact": "tunewise export DATA --out train.jsonl, then tunewise validate train.jsonl --for openai",
    }


def describe(job: dict[str, Any]) -> str:
    return (
        f"OpenAI fine-tuning of {job['model']}: about {job['file_tokens']:,} tokens x {job['epochs']} epochs = "
        f"${job['usd']:,.2f} at ${job['price_per_1m_tokens']:g}/1M (prices of {job['prices_as_of']}); "
        f"exact: {job['exact']}"
    )
