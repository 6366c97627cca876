"""What a comparison is asked to do: the plan, the arms it names, and what the app watches it with.

Light on purpose: the command line builds a plan while parsing (`tunewise compare --help` reads
its defaults), so nothing here imports the rooms; `compare.runner` runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compare.arms import DEFAULT_ARMS, arm_names
from compare.seeds import MAX_SEEDS
from hosted.prices import token_price
from hosted.served import Endpoint, endpoint_of
from tunewise.errors import ConfigError

if TYPE_CHECKING:
    from compare.arms import ArmState, Task
    from tunewise.data.task import DataSpec

CHEAPEST_BASELINE = "rag"  # seconds to build, and the yardstick every other arm must beat
TOP_CHOICES = 2  # the advisor's options that `--arms recommended` runs
DEFAULT_PROMPT_SAMPLE = 300
GENERAL_SAMPLE = 40  # general questions each trained answer model and its base answer: a minute or two on a CPU


@dataclass
class Watchers:
    """What the app watches a comparison with: each arm's state as it changes, the training arm's
    progress, and a stop that keeps what finished (a training arm stops with a checkpoint)."""

    on_arm: Callable[[str, ArmState], None] | None = None  # an arm and its new state
    on_progress: Callable[[Any], None] | None = None  # harness.callbacks.TrainProgress
    on_arms: Callable[[list[str], str | None], None] | None = None  # the arms chosen, and the advice
    cancel: threading.Event | None = None


@dataclass(frozen=True)
class LmChoice:
    """The model the prompted arms ask, as the flags name it (a served one is connected apart),
    carried by the app from its command line to every comparison it starts."""

    lm: str | None = None
    lm_model: str | None = None
    lm_key_env: str | None = None
    lm_concurrency: int = 4
    price_in: float | None = None
    price_out: float | None = None

    def plan_fields(self) -> dict[str, Any]:
        return {
            "lm": self.lm,
            "lm_model": self.lm_model,
            "lm_key_env": self.lm_key_env,
            "lm_concurrency": self.lm_concurrency,
            "price_in": self.price_in,
            "price_out": self.price_out,
        }


@dataclass(frozen=True)
class DocumentsChoice:
    """The documents a comparison answers from, and the knowledge that arrives later, as the flags
    name them: carried by the app from its command line to every comparison it starts."""

    docs: str | None = None
    new_docs: str | None = None
    new_eval: str | None = None

    def plan_fields(self) -> dict[str, Any]:
        return {"docs": self.docs, "new_docs": self.new_docs, "new_eval": self.new_eval}


@dataclass
class ComparisonPlan:
    """Everything a comparison is asked to do; the command line and the demo both build one."""

    data: DataSpec
    arms: str = DEFAULT_ARMS
    validation_fraction: float = 0.1
    prompt_sample: int = DEFAULT_PROMPT_SAMPLE
    choice_sample: int = 40  # validation examples each prompted choice (template, shots) is tried on
    lm: str | None = None  # a local model, or a served one (a URL, or openai:MODEL: hosted.served)
    lm_model: str | None = None  # the served model's name, where its server serves several
    lm_key_env: str | None = None  # the environment variable that holds the served model's key
    lm_concurrency: int = 4  # calls to a served model at once
    price_in: float | None = None  # US dollars per 1M tokens sent to the served model (default: the table)
    price_out: float | None = None  # and per 1M tokens it answers
    overrides: list[str] = field(default_factory=list)
    answers_file: Path | None = None
    answer_values: dict[str, Any] = field(default_factory=dict)  # the app's questionnaire, over the file
    budget_minutes: float | None = None
    fresh: bool = False  # run every arm again even when the registry holds a matching result
    probe: bool = True  # measure the data before the advice (cached); False advises from the answers alone
    allow_overlap: bool = False  # run even when most test examples are exact copies of train (scored apart)
    docs: str | None = None  # the documents the answers draw on: the documents task
    new_docs: str | None = None  # documents that arrive after the arms were built
    new_eval: str | None = None  # and questions only they answer
    seeds: int | None = None  # training runs per trained arm; None: several when they are cheap (the runner)
    general_sample: int = GENERAL_SAMPLE  # general questions a trained answer model answers (0: none)

    def check(self) -> None:
        """Refuse a bad plan before any data is read."""
        if self.choice_sample < 1:
            raise ConfigError(f"--choice-sample must be at least 1, got {self.choice_sample}")
        if self.prompt_sample < 0:
            raise ConfigError(f"--prompt-sample must be 0 (all) or more, got {self.prompt_sample}")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ConfigError(f"--budget-minutes must be more than 0, got {self.budget_minutes:g}")
        if (self.new_docs is None) != (self.new_eval is None):
            given, missing = ("--new-docs", "--new-eval") if self.new_eval is None else ("--new-eval", "--new-docs")
            raise ConfigError(f"{given} needs {missing}: the new documents and the questions only they answer")
        if self.new_docs is not None and self.docs is None:
            raise ConfigError("--new-docs adds to the documents that --docs names; give --docs too")
        if self.general_sample < 0:
            raise ConfigError(f"--general-sample must be 0 (none) or more, got {self.general_sample}")
        if self.seeds is not None and not 1 <= self.seeds <= MAX_SEEDS:
            raise ConfigError(f"--seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        if self.lm_concurrency < 1:
            raise ConfigError(f"--lm-concurrency must be at least 1, got {self.lm_concurrency}")
        endpoint = self.endpoint()  # a malformed --lm fails here, before any data is read
        if endpoint is not None:
            token_price(endpoint.model or "", hosted=endpoint.hosted, usd_in=self.price_in, usd_out=self.price_out)
        elif self.price_in is not None or self.price_out is not None:
            raise ConfigError("--price-in and --price-out price a served model's tokens; give --lm URL or openai:MODEL")
        if self.arms.strip() not in ("recommended", "all"):
            named_arms(self.arms)  # whether each fits the data is known once the data is read
        if self.overrides:
            from harness.config import build_config

            # Each --set is checked as the trained arms will read it, even when none of them runs.
            build_config({"method": "lora", "data": "train.jsonl"}, self.overrides, source="--set")

    def endpoint(self) -> Endpoint | None:
        """The served model `lm` names, or None for a local one."""
        return endpoint_of(self.lm, model=self.lm_model, key_env=self.lm_key_env)


def named_arms(text: str) -> list[str]:
    """The arms `--arms` lists, each once, every one an arm compare runs."""
    arms = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in arms if a not in arm_names()]
    if not arms or unknown:
        raise ConfigError(
            f"--arms {text}: {', '.join(unknown) or 'nothing'} is not an arm compare runs; choose from "
            f"{', '.join(arm_names())}, or recommended, or all"
        )
    return list(dict.fromkeys(arms))


def choose_arms(text: str, ranking: list[str], *, task: Task = "classification") -> list[str]:
    """The arms named by `--arms`; `recommended` and `all` are resolved against the advisor's
    ranking and the arms that fit the task (labels, generated answers, answers from documents)."""
    fitting = arm_names(task)
    classification = task == "classification"
    if text.strip() == "all":
        return list(fitting)
    if text.strip() == "recommended":
        top = [option for option in ranking if option in fitting][:TOP_CHOICES]
        return list(dict.fromkeys([*top, CHEAPEST_BASELINE]))
    arms = named_arms(text)
    unfit = [a for a in arms if a not in fitting]
    if unfit and classification:
        raise ConfigError(
            f"--arms {text}: {', '.join(unfit)} answers generation data, and this data asks for labels; choose "
            f"from {', '.join(fitting)}"
        )
    if unfit and task == "documents":
        raise ConfigError(
            f"--arms {text}: {', '.join(unfit)} does not answer questions from documents; choose from "
            f"{', '.join(fitting)}"
        )
    if unfit:
        raise ConfigError(
            f"--arms {text}: {', '.join(unfit)} does not generate answers, and this data asks for them; choose from "
            f"{', '.join(fitting)}"
        )
    return arms
