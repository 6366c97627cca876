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


# ---------------------------------------------------------------------------- predictions

# Model (or its family, matched by prefix, longest first) -> US dollars per 1M input and output
# tokens of a standard (not batch) request, as OpenAI listed them in PRICES_AS_OF.
INFERENCE_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}


@dataclass(frozen=True)
class TokenPrice:
    """What a served model charges per 1M tokens in and out, and where the figure came from."""

    usd_in: float
    usd_out: float
    source: str  # "table (2025-06)", "--price-in/--price-out", or "a server of your own (no price given)"

    def usd(self, tokens_in: float, tokens_out: float) -> float:
        return (tokens_in * self.usd_in + tokens_out * self.usd_out) / 1e6


def token_price(model: str, *, hosted: bool, usd_in: float | None = None, usd_out: float | None = None) -> TokenPrice:
    """The price of `model`'s tokens: the flags when given, OpenAI's table for its own models, and
    nothing for a server the user runs (its cost is the machine's, which the user can give as a price)."""
    for flag, value in (("--price-in", usd_in), ("--price-out", usd_out)):
        if value is not None and value < 0:
            raise ConfigError(f"{flag} must be 0 or more (US dollars per 1M tokens), got {value:g}")
    if usd_in is not None or usd_out is not None:
        return TokenPrice(usd_in or 0.0, usd_out or 0.0, "--price-in/--price-out")
    if hosted:
        family = next(
            (name for name in sorted(INFERENCE_PRICES, key=len, reverse=True) if model.startswith(name)), None
        )
        if family is None:
            raise ConfigError(
                f"--lm openai:{model}: no price on record; pass --price-in and --price-out (US dollars per 1M "
                f"tokens), or use one of {', '.join(INFERENCE_PRICES)}"
            )
        return TokenPrice(*INFERENCE_PRICES[family], f"table ({PRICES_AS_OF})")
    return TokenPrice(0.0, 0.0, "a server of your own (no price given)")
