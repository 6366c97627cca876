"""Running a comparison: the frozen split, the advice fixed first, each arm in turn, the verdict.

The one place the rooms meet for a comparison: the split comes from the core
(`tunewise.data.protocol`), the retrieval and prompted arms from `rag`, the trained arms from
`harness`, the advice and projections from `advisor`, the statistics and verdict from
`compare.judge`. `tunewise compare`, `tunewise demo` and the app all call `run_comparison`, so
they judge the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.answers import build_answers
from advisor.calibration import RECORD as CALIBRATION_RECORD
from advisor.calibration import estimate_record
from advisor.estimate import Hardware
from advisor.hardware import detect_hardware
from advisor.hyperparameters import advised_training_keys
from advisor.projection import prediction_usd_per_1000, project_setup, training_estimate
from advisor.recommend import hardware_of
from compare.advise import advise
from compare.arms import ArmOutcome, ArmState, Task, arm_names, get_arm, task_of
from compare.judge.summary import summarise
from compare.plan import ComparisonPlan, Watchers, choose_arms
from compare.results import GeneralSet, HardwareRecord, Leakage, Results
from compare.seeds import seed_count
from hosted.served_arms import Served, connect
from tunewise import __version__
from tunewise.data.documents import Later
from tunewise.data.protocol import FrozenSplit, fingerprint, freeze_split, ids_of, sample_of
from tunewise.data.shapes import Dataset, Shape, answer_token_budget, input_text, target_text
from tunewise.data.task import TaskData, load_task_data
from tunewise.errors import ConfigError, DataError, InterruptionError, TunewiseError
from tunewise.inference import LocalLM
from tunewise.probes import Probe, probe_lines
from tunewise.registry import Recorder, data_hash, reuse_key
from tunewise.results import RunResult
from tunewise.stopwatch import Spent, Stopwatch
from tunewise.units import human_duration

# The rooms that embed and train import torch, faiss and sentence-transformers at their tops:
# they are imported where an arm runs, so that `tunewise compare --help` (which imports this
# module) and a comparison of retrieval arms alone never load what they do not use.
if TYPE_CHECKING:
    from harness.arm import LaterQuestions
    from rag.arms import EmbeddedSplit

RETRIEVED_EXAMPLES = 2  # what `rag+lora` trains and answers with: each one lengthens every training sequence
# Above this share of test examples that are exact copies of training examples, a comparison
# measures memory, not skill, and is refused unless the user asks for it (`--allow-overlap`).
# Near copies never refuse: templated inputs ("what colour is the sky / the grass") can be near
# while their answers differ. Exact and near copies are always scored apart.
MAX_OVERLAP = 0.5


class ArmRunner:
    """Runs one arm at a time on the frozen split, sharing what arms have in common (the
    embeddings, the instruct model), and turns failures and budget overruns into outcomes."""

    def __init__(
        self,
        split: FrozenSplit,
        plan: ComparisonPlan,
        *,
        here: Hardware,
        declared: Hardware,
        tokens_per_example: int | None,
        log: Callable[[str], None],
        advised: dict[str, dict[str, Any]] | None = None,
        watchers: Watchers | None = None,
        served: Served | None = None,
        documents: Dataset | None = None,
        later: Later | None = None,
    ) -> None:
        self.watchers = watchers or Watchers()
        self.served = served
        self.documents, self.later = documents, later
        self.split, self.plan = split, plan
        # The advisor's training keys per trained arm: the arm tries what the user was told to run.
        self.advised = advised or {}
        self.here, self.declared = here, declared
        self.tokens_per_example = tokens_per_example
        self.log = log

        self.classification = split.train.shape is Shape.LABELLED
        self.task: Task = task_of(split.train, documents)
        # Every generation arm answers one example in seconds: all of them answer the sample.
        self.sample: Dataset = split.test_sample(plan.prompt_sample)
        self.started = time.perf_counter()
        # Each training's forecast beside its measure, by (arm, seed), for the registry's record:
        # what teaches the estimator this machine (`advisor.calibration`).
        self.forecasts: dict[tuple[str, int], dict[str, Any]] = {}
        self._embedded: EmbeddedSplit | None = None
        self._lm: LocalLM | None = None
        self._general: Dataset | bool | None = False  # not built yet

        self.recorder = Recorder()
        known = [*split.parts().values(), *([documents] if documents is not None else [])]
        if later is not None:
            known += [later.documents, later.questions]
        self.data_hash = data_hash(*(fingerprint(part) for part in known))

    def settings(self, arm: str, seed_index: int = 0) -> dict[str, Any]:
        """What an arm's result depends on beyond the data: a recorded result with the same
        settings and data stands in for running it again (each training seed its own; the first
        keyed as before seeds were counted, so its recorded runs are still found)."""
        settings: dict[str, Any] = {
            "arm": arm,
            "validation_fraction": self.split.validation_fraction,
            "seed": self.split.seed,
            "tunewise_version": __version__,
        }
        spec = get_arm(arm)
        kind = spec.kind
        if spec.asks_model(self.task):
            served = self.served
            settings |= {
                "lm": served.lm.name if served else self.plan.lm,
                "price": [served.price.usd_in, served.price.usd_out] if served else None,
                "prompt_sample": len(self.sample),
                "choice_sample": self.plan.choice_sample,
            }
        if kind == "trained":
            settings["overrides"] = list(self.plan.overrides)
            settings["advised"] = self.advised.get(arm)
            if seed_index:
                settings["seed_offset"] = seed_index
            if not self.classification:  # an answer model also answers the general questions
                settings["general_sample"] = self.plan.general_sample
        return settings

    def run(self, arm: str) -> ArmOutcome:
        """The arm's outcome; a trained arm's with its further seeds (`ArmOutcome.more_seeds`)."""
        outcome = self._run_seed(arm, 0)
        if get_arm(arm).kind != "trained" or outcome.result is None:
            return outcome
        wanted, outcome.seeds_said = self.seed_count(outcome.result)
        self.log(f"{arm}: {outcome.seeds_said}")
        for index in range(1, wanted):
            more = self._run_seed(arm, index)
            if more.result is None:
                self.log(f"{arm}: seed {index + 1} {more.status} ({more.reason}); the verdict rests on {index}")
                outcome.seeds_said += f"; seed {index + 1} {more.status}, so {index} in all"
                break
            outcome.more_seeds.append(more.result)
            outcome.more_reused.append(more.reused_from)
        return outcome

    def seed_count(self, first: RunResult) -> tuple[int, str]:
        """How many times to train an arm whose first run is `first`, and why (`compare.seeds`)."""
        # The work, where measured: a first run slowed by another job does not cost the arm its seeds.
        took = float(first.costs.get("setup_work_seconds") or first.costs.get("setup_seconds", 0.0))
        budget = self.plan.budget_minutes
        left = None if budget is None else budget * 60 - (time.perf_counter() - self.started)
        return seed_count(took, self.plan.seeds, left)

    def _run_seed(self, arm: str, seed_index: int) -> ArmOutcome:
        """One run of `arm` (a trained arm's `seed_index`-th seed), or its recorded result."""
        if self.watchers.cancel is not None and self.watchers.cancel.is_set():
            raise InterruptionError(f"{arm}: stopped before it started; run the same comparison again to continue")
        named = f"{arm} (seed {seed_index + 1})" if seed_index else arm
        settings = self.settings(arm, seed_index)
        key = reuse_key("arm", settings, self.data_hash)
        folder = self.recorder.registry.path.parent / "arms" / key
        found = None if self.plan.fresh else self.recorder.reusable(key)
        if found is not None and (folder / "result.json").is_file():
            self.log(
                f"{named}: the result of run {found.id} ({found.shown_status}, same data and settings); --fresh "
                "runs it again"
            )
            self.state(arm, "reused")
            return ArmOutcome(arm, "ok", RunResult.load(folder / "result.json"), reused_from=found.id)
        self.log(f"{named}...")
        self.state(arm, "running")
        with self.recorder.recording(
            "arm", arm, settings, data_hash=self.data_hash, key=key, artifact=str(folder)
        ) as record:
            outcome = self._outcome(arm, folder, seed_index)
            if outcome.result is not None:
                outcome.result.save(folder / "result.json")
                record["metrics"] = dict(outcome.result.metrics)
                if (arm, seed_index) in self.forecasts:
                    record["metrics"][CALIBRATION_RECORD] = self.forecasts[(arm, seed_index)]
            else:
                record |= {"status": outcome.status, "reason": outcome.reason}
        self.state(arm, outcome.status)
        return outcome

    def state(self, arm: str, state: ArmState) -> None:
        if self.watchers.on_arm is not None:
            self.watchers.on_arm(arm, state)

    def _outcome(self, arm: str, folder: Path, seed_index: int = 0) -> ArmOutcome:

        try:
            produced = get_arm(arm).run(ArmRun(self, arm, folder, seed_index))
        except InterruptionError as exc:  # the user stopped the comparison, not just this arm
            raise InterruptionError(
                f"{arm}: stopped; run the same command again to continue: the arms that finished are reused and "
                "a training arm resumes from its last checkpoint"
            ) from exc
        except TunewiseError as exc:  # one arm's failure is its own line; the others still run
            return ArmOutcome(arm, "failed", reason=exc.message)
        if isinstance(produced, ArmOutcome):  # a trained arm: measured, projected, or skipped for the budget
            return produced
        self._priced(produced)
        folder.mkdir(parents=True, exist_ok=True)
        return ArmOutcome(arm, "ok", produced)

    def _priced(self, result: RunResult) -> None:
        """The set-up projected onto the declared hardware and priced, and the price of 1,000
        predictions: a served model's from its tokens (set by its arm), a local one's from its
        latency on the declared hardware."""
        result.costs |= project_setup(result.costs["setup_seconds"], self.here, self.declared).to_dict()
        if "usd_per_1000" not in result.costs:
            seconds = result.costs.get("seconds_per_example", 0.0)
            result.costs["usd_per_1000"] = prediction_usd_per_1000(seconds, self.here, self.declared)

    def answer_budget(self) -> int:
        """The longest answer a generation arm writes: about the longest reference answer in train."""
        return answer_token_budget(self.split.train)

    def train(
        self,
        arm: str,
        folder: Path,
        method: str,
        *,
        with_examples: bool = False,
        with_documents: bool = False,
        seed_index: int = 0,
    ) -> ArmOutcome:
        """Train `method` as the arm `arm` (with what retrieval finds first when `with_examples`; on
        the documents too when `with_documents`; with its `seed_index`-th training seed), within the
        budget: the outcome, measured and projected, or skipped. The later questions are answered
        by the first seed only."""
        from harness.arm import arm_config, run_training_arm

        split, sample, retrieval = self.split, self.sample, None
        later = self._later_closed_book(with_documents)
        if with_examples and self.documents is not None:
            split, sample, retrieval, later = self._with_passages(self.documents)
        general = self.general_questions()
        if seed_index:  # the first seed answers the later and the general questions
            later, general = None, None
        elif with_examples:
            split, sample, retrieval = self._with_examples()
        if with_documents and self.documents is not None:
            split = self._with_documents(split, self.documents)
        config = arm_config(split, method, folder, self.plan.overrides, self.advised.get(arm), seed_offset=seed_index)
        rate = "the default" if config.learning_rate is None else f"{config.learning_rate:g}"
        self.log(
            f"{arm}: learning rate {rate}, {config.num_train_epochs:g} epochs, batch "
            f"{config.per_device_train_batch_size} x {config.gradient_accumulation_steps}"
            + (" (the advisor's config)" if arm in self.advised else "")
        )
        labels = len(set(split.train.labels() or []))
        tokens = self.tokens_per_example
        try:
            estimate = training_estimate(
                config.to_dict(),
                n_examples=len(split.train),
                n_labels=labels,
                # Each retrieved example is about as long as the example itself.
                tokens_per_example=tokens * (RETRIEVED_EXAMPLES + 1) if tokens and retrieval else tokens,
                hardware=self.here,
            )
        except ConfigError as exc:  # a model the estimator cannot size still trains; only the forecast is lost
            self.log(f"{arm}: no time estimate ({exc.message.split(';')[0]}); it trains without one")
            estimate = None
        if self.plan.budget_minutes is not None and estimate is not None:
            left = self.plan.budget_minutes * 60 - (time.perf_counter() - self.started)
            if estimate.hours * 3600 > left:
                return ArmOutcome(
                    arm,
                    "skipped",
                    reason=f"estimated {human_duration(estimate.hours)} of training here, more than the "
                    f"{human_duration(max(left, 0) / 3600)} left of --budget-minutes {self.plan.budget_minutes:g}",
                )
        result = run_training_arm(
            split,
            config,
            None if self.classification else sample,
            on_progress=self.watchers.on_progress,
            cancel=self.watchers.cancel,
            later=later,
            general=general,
        )
        if estimate is not None and not result.config.get("resumed"):  # the training alone, whole
            peak = result.costs.get("peak_gpu_bytes") or result.costs.get("peak_rss_bytes", 0.0)
            self.forecasts[(arm, seed_index)] = estimate_record(estimate, result.costs["setup_work_seconds"], peak)
        if retrieval is not None:
            result.arm = arm
            result.config |= retrieval.config
            result.costs["setup_seconds"] += retrieval.spent.wall
            result.costs["setup_work_seconds"] = result.costs.get("setup_work_seconds", 0.0) + retrieval.spent.work
            result.costs["embedding_seconds"] = retrieval.spent.wall
            result.costs["disk_bytes"] += retrieval.disk_bytes
        self._priced(result)
        if estimate is not None:
            result.costs["estimated_setup_seconds"] = estimate.hours * 3600
        return ArmOutcome(arm, "ok", result)

    def _later_closed_book(self, with_documents: bool) -> LaterQuestions | None:
        """The later questions as a trained arm that answers closed book sees them: as they are,
        and what taking the new knowledge in would cost it, training again (from this training's
        seconds, scaled by the data it would train on: an estimate, not a second training)."""
        later, documents = self.later, self.documents
        if later is None:
            return None
        if with_documents and documents is not None:
            before = len(self.split.train) + len(documents)
            grown = (before + len(later.documents)) / before
            said = "trains again with the new documents (estimated: this training, scaled by the data)"
        else:
            grown = 1.0
            said = "trains again, on pairs written about the new documents (estimated: this training again)"
        return lambda seconds: (later.questions, seconds * grown, said)

    def _with_documents(self, split: FrozenSplit, documents: Dataset) -> FrozenSplit:
        """The split with the documents among the training records, and every part as chat (the
        validation slice too, so that the best epoch is still chosen on the questions alone)."""
        from tunewise.data.documents import as_chat, with_documents

        return replace(split, train=with_documents(split.train, documents), validation=as_chat(split.validation))

    def _with_passages(self, documents: Dataset) -> tuple[FrozenSplit, Dataset, _Retrieval, LaterQuestions | None]:
        """The split and the test sample as conversations that open with the passages `rag` would
        find for each question (chunking and retriever chosen on validation, by recall, as `rag`
        chooses them), for `rag+lora` on documents; the later questions after their documents
        were added to the passages (timed: what this arm takes to absorb them)."""
        from rag.documents import SYSTEM, choose_retrieval, passages_turn
        from rag.embed import Embedder
        from tunewise.data.documents import as_chat

        watch = Stopwatch()
        retrieval = choose_retrieval(documents, self.split.validation, Embedder())
        shown = RETRIEVED_EXAMPLES

        def opened(dataset: Dataset) -> Dataset:
            questions = [input_text(dataset.shape, r) for r in dataset.records]
            found = retrieval.search(questions, shown)
            asked = [
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": passages_turn(q, passages)}]
                for q, passages in zip(questions, found, strict=True)
            ]
            return as_chat(dataset, asked)

        split = replace(self.split, train=opened(self.split.train), validation=opened(self.split.validation))
        sample = opened(self.sample)
        config = {"passages_shown": shown, "retriever": retrieval.kind, **retrieval.passages.describe()}
        setup = _Retrieval(config, watch.spent(), retrieval.passages.vector_bytes)
        later = self.later
        if later is None:
            return split, sample, setup, None

        def absorbed(_: float) -> tuple[Dataset, float | None, str]:
            seconds = retrieval.passages.add(later.documents)
            return opened(later.questions), seconds, "adds the new documents to its index"

        return split, sample, setup, absorbed

    def _with_examples(self) -> tuple[FrozenSplit, Dataset, _Retrieval]:
        """The split and the test sample as conversations opening with their nearest training
        examples (never a training example's own), for `rag+lora`."""
        from rag.answering import ExampleRetriever, with_examples
        from rag.embed import Embedder

        watch = Stopwatch()
        retriever = ExampleRetriever.of(self.split.train, Embedder())
        shown = RETRIEVED_EXAMPLES
        split = replace(
            self.split,
            train=with_examples(self.split.train, retriever, shown, own=True),
            validation=with_examples(self.split.validation, retriever, shown),
        )  # the test set stays as it is: generation arms answer `sample`, below
        sample = with_examples(self.sample, retriever, shown)
        config = {"examples_shown": shown, "embedding_model": retriever.embedder.info.model}
        return split, sample, _Retrieval(config, watch.spent(), retriever.vectors_bytes)

    def general_questions(self) -> Dataset | None:
        """General questions the trained answer models also answer, for what training cost them
        in general (`tunewise.data.general`); None for labels, built once."""
        if self.classification or self.plan.general_sample == 0:
            return None
        if self._general is False:
            from tunewise.data.general import general_questions

            parts = [self.split.train, self.split.validation]
            self._general = general_questions(parts, self.plan.general_sample, seed=self.split.seed)
        return self._general if isinstance(self._general, Dataset) else None

    def general_baseline(self, outcomes: list[ArmOutcome]) -> GeneralSet | None:
        """The general questions with the answers of each base model that a trained arm answering
        them started from: what the arms kept or lost is measured against them."""
        questions = self.general_questions()
        answered = [o.result for o in outcomes if o.result is not None and o.result.general]
        if questions is None or not answered:
            return None
        from harness.predict import generate_answers
        from tunewise.names import default_model

        # The base model answers as the trained ones did: greedily, within their answer budget.
        budget = int(answered[0].config.get("max_new_tokens") or answer_token_budget(questions))
        base: dict[str, list[str]] = {}
        for result in answered:
            model = str(result.config.get("base_model") or default_model("generation"))
            if model not in base:
                self.log(f"general knowledge: {model} answers {len(questions)} questions, as before any training")
                lm = self.model() if model == (self.plan.lm or default_model("generation")) else LocalLM(model)
                base[model] = generate_answers(lm.model, lm.tokenizer, questions.shape, questions.records, budget)
        references = [target_text(questions.shape, r) for r in questions.records]
        return GeneralSet(source=questions.source, ids=ids_of(questions), references=references, base=base)

    def embeddings(self) -> EmbeddedSplit:
        """The split embedded once, shared by every arm that retrieves."""
        from rag.arms import EmbeddedSplit
        from rag.embed import Embedder

        if self._embedded is None:
            self._embedded = EmbeddedSplit.of(self.split, Embedder())
        return self._embedded

    def model(self) -> LocalLM:
        """The instruct model, loaded once, shared by every arm that prompts."""
        if self._lm is None:
            self._lm = LocalLM(self.plan.lm) if self.plan.lm else LocalLM()
        return self._lm


@dataclass(frozen=True)
class ArmRun:
    """The `compare.arms.ArmContext` the runner hands an arm: its shared parts, and the arm's own name
    and folder. The arm returns a `RunResult` (or, training, an `ArmOutcome`); the runner does the rest."""

    runner: ArmRunner
    name: str
    folder: Path
    seed_index: int = 0  # which of a trained arm's seeds this run trains

    @property
    def split(self) -> FrozenSplit:
        return self.runner.split

    @property
    def sample(self) -> Dataset:
        return self.runner.sample

    @property
    def choice_sample(self) -> int:
        return self.runner.plan.choice_sample

    @property
    def classification(self) -> bool:
        return self.runner.classification

    def embeddings(self) -> EmbeddedSplit:
        return self.runner.embeddings()

    def model(self) -> LocalLM:
        return self.runner.model()

    @property
    def served(self) -> Served | None:
        return self.runner.served

    def answer_budget(self) -> int:
        return self.runner.answer_budget()

    @property
    def task(self) -> Task:
        return self.runner.task

    @property
    def documents(self) -> Dataset | None:
        return self.runner.documents

    @property
    def later(self) -> Later | None:
        return self.runner.later

    def train(self, method: str, *, with_examples: bool = False, with_documents: bool = False) -> ArmOutcome:
        return self.runner.train(
            self.name,
            self.folder,
            method,
            with_examples=with_examples,
            with_documents=with_documents,
            seed_index=self.seed_index,
        )


@dataclass
class _Retrieval:
    """What retrieval adds to a trained arm: its settings, time and index bytes."""

    config: dict[str, Any]
    spent: Spent
    disk_bytes: float


def _require_targets(train: Dataset) -> None:
    """Refuse data with nothing to score against before any arm runs: every arm would fail."""
    if train.shape is Shape.DOCUMENTS:
        raise DataError(
            f"{train.source}: holds documents without labels or answers, so no arm can be scored on it; give "
            "labelled examples, prompt/completion pairs, chat messages or questions with answers (documents are "
            "what `tunewise rag build` indexes)"
        )


def _documents(plan: ComparisonPlan, data: TaskData) -> tuple[Dataset | None, Later | None]:
    """The documents the answers draw on and the knowledge that arrives later, when the plan names them."""
    from tunewise.data.documents import check_questions, load_documents, load_later

    if plan.docs is None:
        return None, None
    check_questions(data.train)
    documents = load_documents(plan.docs)
    later = None
    if plan.new_docs is not None and plan.new_eval is not None:
        later = load_later(plan.new_docs, plan.new_eval, like=data.train)
        # Every arm answers each later question with a generation too: the same seeded sample.
        later = replace(later, questions=sample_of(later.questions, plan.prompt_sample, plan.data.seed))
    return documents, later


def _sample_record(split: FrozenSplit, sample: Dataset) -> dict[str, Any]:
    """The prompted arms' test sample as results.json records it: its size, and its ids when it is
    smaller than the test set."""
    record: dict[str, Any] = {"prompt_sample": len(sample)}
    if len(sample) < len(split.test):
        record["sample_ids"] = ids_of(sample)
    return record


def _overlap(data: TaskData, plan: ComparisonPlan, log: Callable[[str], None]) -> Leakage:
    """The test examples that also occur in train, as results.json records them; refuses a test
    set that is mostly train unless the plan allows it. Said in the log before any arm runs."""
    leakage, n_test = data.leakage, len(data.eval)
    ids = ids_of(data.eval)
    record = Leakage(
        exact=leakage.exact,
        near=leakage.near,
        near_threshold=leakage.threshold,
        test_examples=n_test,
        overlapping_ids=[ids[p] for p in leakage.positions],
        search_capped=leakage.cap_note() or None,
    )
    if leakage.cap_matters:
        log(f"data: {leakage.cap_note()}; near copies of train in the test set may be undercounted")
    if not leakage.total:
        return record
    share = leakage.total / n_test
    where = plan.data.eval_path or "the test split"
    said = (
        f"{leakage.total:,} of {n_test:,} test examples ({share:.0%}) also occur in train ({leakage.exact:,} exact, "
        f"{leakage.near:,} near, in {where})"
    )
    if leakage.exact / n_test > MAX_OVERLAP and not plan.allow_overlap:
        raise DataError(
            f"{said}: scores on them measure what the arms remember, not what they learned; give an eval file "
            f"without them, or pass --allow-overlap to run anyway with them scored apart"
        )
    log(f"data: warning: {said}; they are scored apart and the verdict rests on the other examples")
    return record


def _served(plan: ComparisonPlan, log: Callable[[str], None]) -> Served | None:
    """The served model the prompted arms ask, connected and priced; None for the local one."""
    endpoint = plan.endpoint()
    if endpoint is None:
        return None
    served = connect(
        endpoint, concurrency=plan.lm_concurrency, usd_in=plan.price_in, usd_out=plan.price_out, fresh=plan.fresh
    )
    lm, price = served.lm, served.price
    log(
        f"lm: {lm.name}, {plan.lm_concurrency} call(s) at a time; ${price.usd_in:g} in and ${price.usd_out:g} out "
        f"per 1M tokens ({price.source})"
    )
    return served


def _log_probe(probe: Probe | None, log: Callable[[str], None]) -> None:
    """What the probe the advice rests on measured (cached: `tunewise recommend --from-data` saw the same)."""
    lines = probe_lines(probe.to_dict()) if probe else ["too few examples to measure; the advice rests on the answers"]
    for line in lines:
        log(f"probe: {line}")


def run_comparison(
    plan: ComparisonPlan, log: Callable[[str], None], *, out: Path | None = None, watchers: Watchers | None = None
) -> Results:
    """Freeze the split, fix the advice, run every arm, judge them: what `results.json` holds.

    The comparison is recorded in the run registry (with `out` as its artifact), and so is each
    arm, whose recorded result stands in for running it again on the same data and settings.
    """
    settings = {
        "arms": plan.arms,
        "eval": plan.data.eval_path,
        "validation_fraction": plan.validation_fraction,
        "seed": plan.data.seed,
        "prompt_sample": plan.prompt_sample,
        "lm": plan.lm,
        "overrides": plan.overrides,
        "budget_minutes": plan.budget_minutes,
        "allow_overlap": plan.allow_overlap,
        "seeds": plan.seeds,
        **({"docs": plan.docs, "new_docs": plan.new_docs, "new_eval": plan.new_eval} if plan.docs else {}),
    }
    artifact = str(out) if out else None
    with Recorder().recording("comparison", plan.data.path, settings, artifact=artifact) as record:
        results = _compare(plan, log, watchers)
        verdict = results.verdict
        record["metrics"] = {
            key: getattr(verdict, key) if verdict else None
            for key in ("best", "ship", "significant", "advice", "advice_held", "advice_fate")
        }
    return results


def _compare(plan: ComparisonPlan, log: Callable[[str], None], watchers: Watchers | None = None) -> Results:

    plan.check()
    served = _served(plan, log)  # a refused key or an unknown model is one line before the data is read
    data = load_task_data(plan.data)
    documents, later = _documents(plan, data)
    if documents is None:
        _require_targets(data.train)
    overlap = _overlap(data, plan, log)
    split = freeze_split(data, plan.validation_fraction, plan.data.seed)
    detected = detect_hardware().answers()
    # The advice is fixed before any arm runs, so that the verdict can say whether it held.
    advised_for = advise(
        data,
        answers_file=plan.answers_file,
        flags=plan.answer_values,
        probe=plan.probe,
        served=served,
        documents=documents,
    )
    answers, probe, recommendation = advised_for.answers, advised_for.probe, advised_for.recommendation
    if plan.probe:
        _log_probe(probe, log)
    advice = recommendation.recommended

    task = task_of(split.train, documents)
    arms = choose_arms(plan.arms, [r.method for r in recommendation.ranking if r.feasible], task=task)
    if plan.budget_minutes is None and answers.budget_hours is not None:
        plan.budget_minutes = answers.budget_hours * 60
    log(f"arms: {', '.join(arms)} (advice: {advice})")
    if watchers is not None and watchers.on_arms is not None:
        watchers.on_arms(arms, advice)
    advised = {
        r.method: advised_training_keys(r.hyperparameters)
        for r in recommendation.ranking
        if r.hyperparameters is not None and r.method in arm_names(kind="trained")
    }
    runner = ArmRunner(
        split,
        plan,
        here=hardware_of(build_answers(detected)),
        declared=hardware_of(answers),
        tokens_per_example=answers.tokens_per_example,
        log=log,
        advised=advised,
        watchers=watchers,
        served=served,
        documents=documents,
        later=later,
    )
    for arm in arms:
        runner.state(arm, "waiting")
    outcomes = [runner.run(arm) for arm in arms]
    general = runner.general_baseline(outcomes)

    gold = [target_text(split.test.shape, r) for r in split.test.records]
    results = summarise(
        outcomes,
        gold,
        split.ids()["test"],
        split=split.to_dict() | _sample_record(split, runner.sample),
        advice=advice,
        seed=plan.data.seed,
        sample_ids=ids_of(runner.sample),
        task=task,
        overlapping=overlap.overlapping_ids,
        later=later.questions if later is not None else None,
        general=general,
    )
    expected = {r.method: r.expected.rounded() for r in recommendation.ranking if r.expected is not None}
    hardware = HardwareRecord(
        here=runner.here.describe(),
        declared=runner.declared.describe(),
        price_per_gpu_hour=runner.declared.price_per_gpu_hour,
    )
    return results.model_copy(
        update={
            "probe": probe,
            "expected": expected,
            "tunewise_version": __version__,
            "data": plan.data.path,
            "eval": plan.data.eval_path,
            "docs": plan.docs,
            "new_docs": plan.new_docs,
            "new_eval": plan.new_eval,
            "hardware": hardware,
            "budget_minutes": plan.budget_minutes,
            "leakage": overlap,
        }
    )
