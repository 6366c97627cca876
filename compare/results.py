"""`results.json`: a comparison as typed records, written and read through one schema.

Everything that reads a comparison (the reports, the app's results screen, the terminal table,
`tunewise demo`) reads these attributes, never nested string keys, so a renamed field is a type
error rather than a report that silently shows nothing. The file carries its `format`: a file
of a format this version does not know is refused in one line that names both versions, and a
file of a known format that is missing a field or holds a wrong type is refused naming the field
(`arms.2.metrics.accuracy: ...`). Fields added within a format have defaults, so files written
before them still load.

pydantic does the checking: the schema is the classes below, and its errors carry the path to
the offending value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from advisor.expectations import Expected
from compare.arms import ArmStatus, Task
from tunewise.errors import DataError
from tunewise.probes import Probe

AdviceFate = Literal["held", "tied", "missed"]
RESULTS_FORMAT = 1  # bump when a field changes meaning or goes; a new optional field keeps it
RESULTS_FILE = "results.json"


class _Record(BaseModel):
    # extra="forbid": a misspelt field in a hand-edited file is named, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Split(_Record):
    """The frozen split every arm was scored on."""

    validation_fraction: float
    seed: int
    sizes: dict[str, int]  # train, validation, test
    test_hash: str
    ids: dict[str, list[str]]  # each part's example ids, in order
    prompt_sample: int = 0  # test examples the slow arms answered
    sample_ids: list[str] | None = None  # their ids, when fewer than the test set

    @model_validator(mode="after")
    def _parts_agree(self) -> Split:
        for part, size in self.sizes.items():
            if part in self.ids and len(self.ids[part]) != size:
                raise ValueError(f"ids.{part} holds {len(self.ids[part])} ids for {size} examples")
        if "test" not in self.sizes:
            raise ValueError("sizes: no test part")
        return self

    @property
    def test_size(self) -> int:
        return self.sizes["test"]

    @property
    def test_ids(self) -> list[str]:
        return self.ids["test"]


class Cost(BaseModel):
    """What an arm cost: set-up and per-prediction figures every arm has, plus its own extras
    (a trained arm's peak memory and trainable parameters, retrieval's embedding seconds)."""

    # Arms add costs of their own (floats, by name); the report shows the ones named here.
    model_config = ConfigDict(extra="allow", frozen=True)

    setup_seconds: float = 0.0
    seconds_per_example: float = 0.0
    latency_p50: float = 0.0
    latency_p95: float = 0.0
    disk_bytes: float = 0.0
    projected_setup_seconds: float | None = None  # the set-up scaled to the declared hardware
    setup_usd: float | None = None  # and priced there
    usd_per_1000: float | None = None  # 1,000 predictions: a served model's tokens, else declared machine time
    tokens_in_per_call: float | None = None  # a served model's, as its server counted them
    tokens_out_per_call: float | None = None

    def extras(self) -> dict[str, float]:
        return dict(self.model_extra or {})


class Clean(_Record):
    """An arm's primary metric without the test examples that also occur in train.

    On disk, `{"examples": n, "<metric>": score}`: the metric's own name is the key."""

    examples: int
    metric: str
    score: float

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "metric" not in data:
            others = [key for key in data if key != "examples"]
            if len(others) != 1:
                raise ValueError("expected 'examples' and one metric")
            return {"examples": data.get("examples"), "metric": others[0], "score": data[others[0]]}
        return data

    @model_serializer
    def _to_file(self) -> dict[str, Any]:
        return {"examples": self.examples, self.metric: self.score}


class LaterArm(_Record):
    """An arm on the questions about knowledge that arrived after it was built (`--new-docs`)."""

    eval_ids: list[str]
    predictions: list[str]
    metrics: dict[str, float | None]
    ci95: dict[str, tuple[float, float]] = Field(default_factory=dict)
    # What taking the new documents in costs the arm: indexing them, or training again (estimated
    # from its own training); None where it cannot (a prompted model knows what it knows).
    absorb_seconds: float | None = None
    absorbs: str = ""  # how, in words

    def metric(self, name: str) -> float:
        return self.metrics.get(name) or 0.0


class LaterKnowledge(_Record):
    """The questions on knowledge that arrived later, and the verdict on them alone."""

    ids: list[str]
    references: list[str]
    verdict: Verdict | None = None


class GeneralSet(_Record):
    """The general questions trained answer models also answered (`tunewise.data.general`), with
    what each base model answered before any training."""

    source: str
    ids: list[str]
    references: list[str]
    base: dict[str, list[str]]  # base model -> its answer to each question


class GeneralKept(_Record):
    """What a trained answer model kept of general knowledge: its token F1 on the general
    questions against its base model's, the change, and whether it is more than chance."""

    base_model: str
    questions: int
    token_f1: float
    base_token_f1: float
    change: float  # token_f1 - base_token_f1: below 0, forgotten
    p_value: float  # paired bootstrap of the two, question by question
    chrf_to_base: float  # how close its answers stay to the base model's own (100: the same)
    predictions: list[str] = Field(default_factory=list)


class SeedRun(_Record):
    """One training run of a trained arm trained with several seeds: the same test examples scored."""

    seed: int  # the training seed (the new head's weights, dropout, data order)
    score: float  # the primary metric (without the test examples that occur in train, if any)
    metrics: dict[str, float | None]
    setup_seconds: float
    setup_work_seconds: float | None = None
    reused_from: int | None = None
    predictions: list[str] = Field(default_factory=list)  # the first seed's are the arm's own


class ArmRecord(_Record):
    """One arm: its scores with intervals, costs and predictions, or why it has none."""

    name: str
    status: ArmStatus
    reason: str = ""
    config: dict[str, Any] = Field(default_factory=dict)  # what the arm chose on validation
    metrics: dict[str, float | None] = Field(default_factory=dict)
    ci95: dict[str, tuple[float, float]] = Field(default_factory=dict)
    cost: Cost = Field(default_factory=Cost)
    eval_hash: str = ""
    examples: int | None = None  # test examples scored: all, or the slow arms' sample
    predictions: list[str] = Field(default_factory=list)
    curves: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)  # loss by step
    reused_from: int | None = None  # the registry's run whose recorded result this is
    clean: Clean | None = None
    later: LaterArm | None = None
    # A trained arm trained with several seeds: each run; then `metrics` are their means and
    # `ci95` is of one run, over test examples and seeds together.
    seeds: list[SeedRun] = Field(default_factory=list)
    seeds_said: str = ""  # how many seeds, and why, in words
    general: GeneralKept | None = None  # a trained answer model: what it kept of general knowledge

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metric(self, name: str) -> float:
        """A metric's value (0 where it could not be measured)."""
        return self.metrics.get(name) or 0.0


class Pairwise(_Record):
    against: str  # the best arm
    p_values: dict[str, float]


class Leakage(_Record):
    """Test examples that also occur in train."""

    exact: int
    near: int
    near_threshold: float
    test_examples: int
    overlapping_ids: list[str] = Field(default_factory=list)
    search_capped: str | None = None  # why the near count is a lower bound


class HardwareRecord(_Record):
    here: str  # the machine that measured
    declared: str  # the machine the advice plans for
    price_per_gpu_hour: float


class BreakEven(_Record):
    """After how many predictions a trained arm's training is paid back by predictions cheaper
    than a prompted arm's."""

    trained: str
    against: str
    training_usd: float
    saved_per_1000: float  # the prompted arm's price of 1,000 predictions less the trained arm's
    predictions: float  # training_usd / saved per prediction (0 when training cost nothing)


class Verdict(BaseModel):
    """Which arm is best, whether that is significant, which to ship, and whether the advice held
    (decided by `compare.judge.verdict`)."""

    model_config = ConfigDict(extra="forbid")  # the judge fills in the advice's fate after the rest

    best: str
    significant: bool  # best against the runner-up
    ship: str
    tied_with_best: list[str]
    p_values: dict[str, float]  # each arm against the best
    advice: str | None = None
    advice_held: bool | None = None  # true only when the advised arm is the arm that ships
    # held: ships; tied: tied with the best, but dearer than what ships; missed: below the best;
    # None: the advised arm did not run.
    advice_fate: AdviceFate | None = None
    cost_ratio: float | None = None  # tied: the advised arm's set-up over the shipped arm's
    reason: str = ""


class Results(_Record):
    """A whole comparison, as `results.json` holds it (docs/compare.md lists every field)."""

    format: int = RESULTS_FORMAT
    task: Task
    primary_metric: str
    split: Split
    test_labels: list[str]
    arms: list[ArmRecord]
    pairwise: Pairwise | None = None
    verdict: Verdict | None = None
    probe: Probe | None = None
    expected: dict[str, Expected] = Field(default_factory=dict)
    tunewise_version: str = ""
    data: str | None = None
    eval: str | None = None
    hardware: HardwareRecord | None = None
    budget_minutes: float | None = None
    leakage: Leakage | None = None
    break_even: list[BreakEven] = Field(default_factory=list)
    docs: str | None = None  # the documents the answers drew on (the documents task)
    new_docs: str | None = None  # documents that arrived after the arms were built
    new_eval: str | None = None
    later: LaterKnowledge | None = None
    general: GeneralSet | None = None

    @model_validator(mode="after")
    def _arms_agree(self) -> Results:
        # The reports pair predictions with ids and labels by position: a file where they do not
        # line up is refused here rather than drawn wrong.
        if len(self.test_labels) != self.split.test_size:
            raise ValueError(
                f"test_labels holds {len(self.test_labels)} labels for {self.split.test_size} test examples"
            )
        for index, arm in enumerate(self.arms):
            if arm.ok and arm.examples is not None and arm.predictions and len(arm.predictions) != arm.examples:
                raise ValueError(f"arms.{index}.predictions holds {len(arm.predictions)} for {arm.examples} examples")
        return self

    @property
    def classification(self) -> bool:
        return self.task == "classification"

    @property
    def on_documents(self) -> bool:
        return self.task == "documents"

    @property
    def finished(self) -> list[ArmRecord]:
        """The arms that ran to the end, in the order they ran."""
        return [arm for arm in self.arms if arm.ok]

    def arm(self, name: str) -> ArmRecord | None:
        return next((arm for arm in self.arms if arm.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, fields that were never set left out (a failed arm has no metrics)."""
        return self.model_dump(mode="json", exclude_unset=True) | {"format": self.format}

    def to_json(self) -> str:
        from tunewise import strict_json

        return strict_json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, where: str = RESULTS_FILE) -> Results:
        """The results in `data`; a `DataError` naming `where`, the format or the field otherwise."""
        if not isinstance(data, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(data).__name__}")
        version = data.get("format")
        if version != RESULTS_FORMAT:
            said = "no format" if version is None else f"format {version!r}"
            written = f", written by tunewise {data['tunewise_version']}" if data.get("tunewise_version") else ""
            raise DataError(
                f"{where}: {said}{written}; this tunewise reads format {RESULTS_FORMAT}: run the comparison "
                "again with this version (or open it with the version that wrote it)"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DataError(f"{where}: {_first_error(exc)}") from None

    @classmethod
    def load(cls, folder: Path) -> Results:
        """The results a comparison wrote into `folder`."""
        path = folder / RESULTS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DataError(f"{path}: not found; the comparison's folder was moved or removed") from exc
        except (OSError, ValueError, RecursionError) as exc:
            raise DataError(f"{path}: cannot be read as a comparison's results ({exc})") from exc
        return cls.from_dict(data, str(path))


def _first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as `field.path: message` (and how many more)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    place = ".".join(str(part) for part in first["loc"]) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{place}: {first['msg']}{more}"


LaterKnowledge.model_rebuild()  # its verdict's class is defined after it
