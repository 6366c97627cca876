"""Defaults and bounds shared by the questionnaire, the estimator and the training config.

One place, so that what the estimator plans for is what the harness trains with, and a value
refused in one is refused in all.
"""

from __future__ import annotations

# OpenAI's fine-tuning guide, which the advice's rules and the hosted files' checks both cite:
MIN_FINE_TUNING_EXAMPLES = 10  # the fewest examples a fine-tuning job accepts at all
FINE_TUNING_GAINS_START = 50  # clear gains usually start at 50 to 100 good examples

DEFAULT_LORA_DROPOUT = 0.05  # what the harness trains with unless told otherwise; the estimator counts its cost

# Upper bounds: past them a number is a typo or a wrong unit, and the estimates would only
# print absurd figures. Shared by every reader of numbers.
MAX_EXAMPLES = 10**10  # more than any fine-tuning data set or knowledge base
MAX_LABELS = 10**7  # more classes than the largest extreme-classification label sets
MAX_TOKENS = 10**7  # longer than any model's context window
MAX_PARAMS = 1e14  # fifty times the largest published models
MAX_BATCH_SIZE = 4096  # no device holds more sequences in one step
MAX_LORA_R = 4096  # wider than nearly every layer, where an adapter stops being low-rank
MAX_EPOCHS = 1000  # more passes than any fine-tuning needs: the model would memorise the data
