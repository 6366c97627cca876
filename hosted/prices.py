"""What a hosted fine-tuning job costs: billed tokens x the price per million.

OpenAI bills a fine-tuning job for the tokens in the training file times the number of epochs.
Prices change, so the table below is small and dated, and `--price-per-1m-tokens` overrides
it for any model; docs/hosted.md shows the table and where it was read.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunewise.errors import ConfigError

PRICES_AS_OF = "2025-06"
# model snapshot -> (US dollars per 1M training tokens, longest training example in tokens)
TRAINING_PRICES: dict[str, tuple[float, int]] = {
    "gpt-4.1-2025-04-14": (25.00, 65_536),
    "gpt-4.1-mini-2025-04-14": (5.00, 65_536),
    "gpt-4.1-nano-2025-04-14": (1.50, 65_536),
    "gpt-4o-2024-08-06": (25.00, 65_536),
    "gpt-4o-mini-2024-07-18": (3.00, 65_536),
    "gpt-3.5-turbo-0125": (8.00, 16_385),
    "davinci-002": (6.00, 16_384),
    "babbage-002": (0.40, 16_384),
}
# The models that take the legacy prompt/completion files; every other one takes chat messages.
COMPLETION_MODELS = frozenset({"davinci-002", "babbage-002"})
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_EPOCHS = 3  # what the service picks for a few hundred examples when none is given


@dataclass(frozen=True)
class JobCost:
    model: str
    file_tokens: int
    epochs: int
    price_per_1m: float
    price_source: str  # "table (2025-06)" or "--price-per-1m-tokens"

    @property
    def billed_tokens(self) -> int:
        return self.file_tokens * self.epochs

    @property
    def dollars(self) -> float:
        return self.billed_tokens / 1e6 * self.price_per_1m

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "file_tokens": self.file_tokens,
            "epochs": self.epochs,
            "billed_tokens": self.billed_tokens,
            "price_per_1m_tokens": self.price_per_1m,
            "price_source": self.price_source,
            "usd": round(self.dollars, 4),
        }


def context_limit(model: str) -> int | None:
    entry = TRAINING_PRICES.get(model)
    return entry[1] if entry else None


def job_cost(model: str, file_tokens: int, epochs: int, price_per_1m: float | None = None) -> JobCost:
    """The cost of training `model` on a file of `file_tokens` for `epochs` epochs."""
    if epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {epochs}")
    if price_per_1m is not None:
        if price_per_1m < 0:
            raise ConfigError(f"--price-per-1m-tokens must be 0 or more, got {price_per_1m}")
        return JobCost(model, file_tokens, epochs, price_per_1m, "--price-per-1m-tokens")
    entry = TRAINING_PRICES.get(model)
    if entry is None:
        known = ", ".join(TRAINING_PRICES)
        raise ConfigError(
            f"--model: no price on record for '{model}'; pass --price-per-1m-tokens "
            f"(the provider's price per million training tokens) or use one of {known}"
        )
    return JobCost(model, file_tokens, epochs, entry[0], f"table ({PRICES_AS_OF})")
