"""The arms a comparison can run, one module each, registered by name with the tasks they serve.

An arm is a function of an `ArmContext` (the frozen split, the test sample, the shared
embeddings and instruct model, its own name and folder; `compare.runner.ArmRun` is the one the
runner hands out) that returns its `RunResult`; the runner alone times, scores, records and
reuses. Lists of arms (the command line's help and `--arms` checks, the app's tick list, `all`)
are read from here, never written out by hand: adding an arm is one module with `@register_arm`
(lm-evaluation-harness registers its models the same way). Arms never import heavy libraries at
module level, so `tunewise --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from hosted.served_arms import Served
    from rag.arms import EmbeddedSplit
    from tunewise.data.documents import Later
    from tunewise.data.protocol import FrozenSplit
    from tunewise.data.shapes import Dataset
    from tunewise.inference import LocalLM
    from tunewise.results import RunResult

# What the arms are asked to do: predict labels, generate answers, or answer questions from the
# user's documents (`--docs`), where retrieval and training compete on knowledge.
Task = Literal["classification", "generation", "documents"]
DEFAULT_ARMS = "rag,head"  # the cheapest pair that measures: what `compare` runs when not told
ArmStatus = Literal["ok", "failed", "skipped"]  # how an arm ended, as results.json records it
# What the app shows of an arm while a comparison runs: its end, or that it waits, runs, or was
# answered from the run registry without running.
ArmState = Literal["waiting", "running", "reused", "ok", "failed", "skipped"]
FINISHED_STATES: tuple[ArmState, ...] = ("reused", "ok")
ENDED_STATES: tuple[ArmState, ...] = ("reused", "ok", "failed", "skipped")
# What an arm costs, which decides what its reused result depends on and how it is run:
# "retrieval" embeds and searches; "prompted" makes a model pass per example, so it answers a
# sample of the test set; "trained" trains a model with the advisor's config and `--set`.
Kind = Literal["retrieval", "prompted", "trained"]


@dataclass
class ArmOutcome:
    """One arm of a comparison: its result, or why it has none (failed, skipped)."""

    name: str
    status: ArmStatus
    result: RunResult | None = None
    reason: str = ""
    reused_from: int | None = None  # the registry's run whose recorded result this is
    # A trained arm trained with further seeds: their results (the same examples scored), the
    # registry runs they were reused from, and how many seeds were chosen and why, in words.
    more_seeds: list[RunResult] = field(default_factory=list)
    more_reused: list[int | None] = field(default_factory=list)
    seeds_said: str = ""


class ArmContext(Protocol):
    """What an arm is handed: the comparison's shared parts, and its own name and folder."""

    @property
    def name(self) -> str: ...
    @property
    def folder(self) -> Path: ...  # where it may write (a trained arm's run)
    @property
    def split(self) -> FrozenSplit: ...  # train, validation (every choice is made here) and test
    @property
    def sample(self) -> Dataset: ...  # the seeded test sample the slow arms answer
    @property
    def classification(self) -> bool: ...  # labels to predict, else answers to generate
    @property
    def task(self) -> Task: ...
    @property
    def documents(self) -> Dataset | None: ...  # what the answers draw on (`--docs`), for the documents task
    @property
    def later(self) -> Later | None: ...  # documents and questions that arrive after the arms are built
    @property
    def choice_sample(self) -> int: ...  # validation examples each prompted choice is tried on

    def embeddings(self) -> EmbeddedSplit: ...  # the split embedded once, shared
    def model(self) -> LocalLM: ...  # the instruct model, loaded once, shared
    @property
    def served(self) -> Served | None: ...  # the served model `--lm` names, instead of the local one
    def answer_budget(self) -> int: ...  # the longest answer to generate, in tokens
    def train(self, method: str, *, with_examples: bool = False, with_documents: bool = False) -> ArmOutcome: ...


ArmFunction = Callable[[ArmContext], Any]


@dataclass(frozen=True)
class Arm:
    """A registered arm: its name, the tasks it serves, its kind and the function that runs it."""

    name: str
    tasks: frozenset[str]
    kind: Kind
    run: ArmFunction
    order: int  # where it is listed: the cheapest arms first
    prompts: frozenset[str] = frozenset()  # tasks on which a retrieval arm asks the instruct model too

    def serves(self, task: str) -> bool:
        return task in self.tasks

    def asks_model(self, task: str) -> bool:
        """Whether its result depends on the instruct model `--lm` names (and on the test sample it answers)."""
        return self.kind == "prompted" or task in self.prompts


def task_of(data: Dataset, documents: Dataset | None = None) -> Task:
    """What a comparison on `data` (and, given, the user's `documents`) asks of its arms."""
    from tunewise.data.shapes import Shape

    if data.shape is Shape.LABELLED:
        return "classification"
    return "documents" if documents is not None else "generation"


_REGISTRY: dict[str, Arm] = {}


def register_arm(
    name: str, *, tasks: Iterable[Task], kind: Kind = "retrieval", order: int = 100, prompts: Iterable[Task] = ()
) -> Callable[[ArmFunction], ArmFunction]:
    """Register the decorated function as the arm `name`, serving `tasks`, listed by `order`;
    `prompts`: the tasks on which an arm of another kind asks the instruct model as well."""

    def register(run: ArmFunction) -> ArmFunction:
        if name in _REGISTRY and _REGISTRY[name].run is not run:
            raise ValueError(f"arm {name!r} is registered twice")
        _REGISTRY[name] = Arm(name, frozenset(tasks), kind, run, order, frozenset(prompts))
        return run

    return register


def unregister_arm(name: str) -> None:
    """Take an arm out of the registry (for tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def _builtin() -> None:
    from compare.arms import fewshot, head, prompting, rag, rag_lora, trained  # noqa: F401


def get_arm(name: str) -> Arm:
    _builtin()
    return _REGISTRY[name]


def arm_names(task: str | None = None, *, kind: Kind | None = None) -> tuple[str, ...]:
    """The registered arms, in order: all of them, or those serving `task`, or of `kind`."""
    _builtin()
    return tuple(
        arm.name
        for arm in sorted(_REGISTRY.values(), key=lambda arm: arm.order)
        if (task is None or arm.serves(task)) and (kind is None or arm.kind == kind)
    )
