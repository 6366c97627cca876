"""The advisor's rules: each reads the answers (and the estimates) and moves methods up or down.

A rule returns `Reason`s (points for or against a method, naming the criterion and source)
and `Constraint`s (a method cannot work: it fails a hard limit). Every rule is a plain
function listed in `RULES`; `docs/advisor.md` restates them for people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from advisor.answers import Answers
from advisor.architectures import ModelSpec
from advisor.estimate import Estimate, Hardware
from advisor.expectations import Expected, tie_margin
from advisor.hyperparameters import SMALL_ENCODER_PARAMS
from tunewise.defaults import FINE_TUNING_GAINS_START, MIN_FINE_TUNING_EXAMPLES
from tunewise.names import METHODS, TRAINED_OPTIONS
from tunewise.probes import Probe
from tunewise.units import human_duration

ADAPTERS = METHODS  # what "fine-tuning alone" means
RETRIEVAL = ("rag", "rag+lora")
# Where each method starts: simple methods first, since they cost least when they work.
BASE_SCORE = {
    "prompting": 50.0,
    "rag": 50.0,
    "head": 50.0,
    "full": 45.0,
    "lora": 50.0,
    "qlora": 45.0,
    "rag+lora": 40.0,
}

SOME_EXAMPLES = 100
MANY_EXAMPLES = 1_000
LOTS_OF_EXAMPLES = 10_000
MANY_LABELS = 20
FAST_LATENCY_MS = 1_000


@dataclass(frozen=True)
class Reason:
    method: str
    points: float
    criterion: str
    text: str
    source: str


@dataclass(frozen=True)
class Constraint:
    method: str
    criterion: str
    text: str
    source: str


@dataclass
class Context:
    """What the rules see."""

    answers: Answers
    spec: ModelSpec
    hardware: Hardware
    estimates: dict[str, Estimate]  # per method, on the user's hardware (or a rented one)
    rented: dict[str, Hardware] = field(default_factory=dict)  # methods moved to a rented GPU
    probe: Probe | None = None  # what was measured on the data, when it was
    expected: dict[str, Expected] = field(default_factory=dict)  # each arm's expected score, from the probe
    test_size: int = 0  # the examples a comparison would score on: how close is a tie

    @property
    def measured(self) -> bool:
        """Whether the data was probed: measured quality then replaces the rules of thumb that
        guess it from the data's size and task."""
        return bool(self.expected)

    def fits_locally(self, method: str) -> bool:
        estimate = self.estimates.get(method)
        return estimate is not None and estimate.fits and method not in self.rented


Finding = Reason | Constraint
Rule = Callable[[Context], Iterator[Finding]]


def _each(methods: tuple[str, ...], points: float, criterion: str, text: str, source: str) -> Iterator[Reason]:
    for method in methods:
        yield Reason(method, points, criterion, text, source)


# ---------------------------------------------------------------------------- the guide, section 6


def one_off_or_production(ctx: Context) -> Iterator[Finding]:
    if ctx.answers.one_off:
        text = "a one-off job: prompting answers it now, with nothing to train or maintain"
        yield Reason("prompting", 30, "one-off use", text, "guide:when-not")
        yield from _each(
            TRAINED_OPTIONS, -25, "one-off use", "a one-off job does not repay training a model", "guide:when-not"
        )
    else:
        text = "a production model with reusable logic repays training once and serving many times"
        yield from _each(TRAINED_OPTIONS, 10, "production use", text, "guide:do")


def amount_of_data(ctx: Context) -> Iterator[Finding]:
    n = ctx.answers.n_examples
    if n < MIN_FINE_TUNING_EXAMPLES:
        text = f"{n} labelled examples: fine-tuning needs at least {MIN_FINE_TUNING_EXAMPLES}; with too little data use embeddings + RAG"
        for method in TRAINED_OPTIONS:
            yield Constraint(method, "too little data", text, "openai:ft")
        if n > 0:
            yield Reason(
                "rag",
                15,
                "too little data",
                f"{n} examples can still be retrieved as few-shot demonstrations",
                "guide:when-not",
            )
        return
    if n < FINE_TUNING_GAINS_START:
        text = f"only {n} examples: too little data to fine-tune well (improvements usually appear from 50-100)"
        yield from _each(TRAINED_OPTIONS, -25, "too little data", text, "openai:ft")
        yield Reason(
            "rag",
            15,
            "too little data",
            f"with {n} examples, retrieve the closest ones instead (embeddings + RAG)",
            "guide:when-not",
        )
        yield Reason("prompting", 10, "too little data", f"{n} examples fit in a few-shot prompt", "guide:when-not")
    elif n < SOME_EXAMPLES:
        yield from _each(
            TRAINED_OPTIONS,
            -5,
            "little data",
            f"{n} examples: at the edge of where fine-tuning starts to help (50-100)",
            "openai:ft",
        )
        yield Reason("rag", 5, "little data", f"{n} examples make a small but usable retrieval set", "guide:when-not")
    elif ctx.measured:
        pass  # how much fine-tuning gains on this data was measured: `measured_quality` says it
    elif n < MANY_EXAMPLES:
        yield from _each(
            TRAINED_OPTIONS,
            10,
            "enough data",
            f"{n} examples: enough for fine-tuning to improve on prompting",
            "openai:ft",
        )
    else:
        yield from _each(
            TRAINED_OPTIONS,
            20,
            "plenty of data",
            f"{n:,} examples: fine-tuning can learn from far more than a prompt can show",
            "openai:ft",
        )
        yield Reason(
            "prompting",
            -10,
            "plenty of data",
            f"a prompt can show only a handful of your {n:,} examples",
            "guide:table",
        )
        if n >= LOTS_OF_EXAMPLES and ctx.spec.n_params() <= 1e9:
            text = f"{n:,} examples on a {ctx.spec.n_params() / 1e6:.0f}M-parameter model: updating every weight pays off and stays affordable"
            yield Reason("full", 10, "plenty of data", text, "guide:techniques")


def prompt_controllable(ctx: Context) -> Iterator[Finding]:
    if ctx.answers.prompt_controllable:
        yield Reason(
            "prompting",
            35,
            "controllable by prompt",
            "a system prompt or structured input already gets the behaviour",
            "guide:when-not",
        )
        yield from _each(
            TRAINED_OPTIONS,
            -20,
            "controllable by prompt",
            "fine-tuning would teach what the prompt already achieves",
            "guide:when-not",
        )


def tone_and_style(ctx: Context) -> Iterator[Finding]:
    if ctx.answers.task == "style":
        yield from _each(
            TRAINED_OPTIONS,
            25,
            "tone and style",
            "a specific tone or style is learned from examples, not instructed",
            "guide:do",
        )
        yield from _each(("rag",), -15, "tone and style", "retrieval adds facts, not a tone of voice", "guide:do")
        yield Reason("prompting", -5, "tone and style", "prompts describe a style only shallowly", "guide:table")


def domain_adaptation(ctx: Context) -> Iterator[Finding]:
    if ctx.answers.needs_domain_adaptation:
        yield from _each(
            TRAINED_OPTIONS, 20, "domain adaptation", "precise domain adaptation is what fine-tuning is for", "guide:do"
        )
        yield Reason(
            "prompting",
            -10,
            "domain adaptation",
            "a general model prompted in a narrow domain stays shallow",
            "guide:table",
        )


# ---------------------------------------------------------------------------- knowledge and retrieval


def knowledge_in_documents(ctx: Context) -> Iterator[Finding]:
    a = ctx.answers
    if a.n_documents > 0:
        text = (
            f"the knowledge lives in {a.n_documents:,} documents: RAG beat fine-tuning for injecting knowledge on every "
            "model and task tried (Mistral-7B, current events: 0.875 with RAG against 0.504 fine-tuned)"
        )
        yield from _each(RETRIEVAL, 25, "knowledge injection", text, "ovadia2023")
        yield from _each(
            ADAPTERS, -10, "knowledge injection", "fine-tuning alone injects new facts poorly", "ovadia2023"
        )
        if a.task in ("qa", "generation", "extraction"):
            text = "the model has never seen your documents: prompting alone cannot answer from them"
            yield Reason("prompting", -20, "knowledge injection", text, "ovadia2023")
        if a.knowledge_changes == "often":
            text = "the knowledge changes often: re-indexing takes minutes, a fine-tuned model goes stale"
            measured = _absorbing_measured(ctx)
            yield from _each(
                RETRIEVAL, 15, "changing knowledge", measured or text, "probe" if measured else "lewis2020"
            )
            yield from _each(
                ADAPTERS,
                -15,
                "changing knowledge",
                "every change of the facts would need another training run",
                "lewis2020",
            )
        elif a.knowledge_changes == "rarely":
            yield from _each(
                RETRIEVAL,
                5,
                "changing knowledge",
                "the knowledge changes now and then: an index updates without retraining",
                "lewis2020",
            )
    elif a.task == "qa":
        text = "question answering with no documents: only the facts inside the model and your examples can answer"
        yield Reason("rag", -10, "no documents", text, "tunewise")
    if a.n_documents == 0 and a.n_examples == 0:
        for method in RETRIEVAL:
            yield Constraint(
                method,
                "nothing to retrieve",
                "no documents and no labelled examples: there is nothing to retrieve",
                "tunewise",
            )
    elif (
        a.n_documents == 0
        and a.n_examples >= FINE_TUNING_GAINS_START
        and a.task in ("generation", "style", "extraction")
    ):
        yield Reason(
            "rag", -10, "no documents", "with no documents, retrieval can only show similar examples", "tunewise"
        )


# Below this share of training questions with a passage that holds the answer among the first
# three, retrieval is the weak link: the reader cannot answer what it is not shown.
LOW_RECALL = 0.5


def documents_measured(ctx: Context) -> Iterator[Finding]:
    """What the probe measured of the documents: whether retrieval finds the answers at all."""
    signals = ctx.probe.documents if ctx.probe is not None else None
    if signals is None:
        return
    best = signals.best_recall
    if best < LOW_RECALL:
        text = (
            f"retrieval finds a passage holding the answer for only {best:.0%} of {signals.questions} training "
            f"questions (best: {signals.best_retriever}): the documents may not hold the answers as the questions "
            "word them; check them, or their chunking, before relying on RAG"
        )
        yield from _each(RETRIEVAL, -15, "retrieval measured", text, "probe")
    else:
        text = (
            f"retrieval finds a passage holding the answer for {best:.0%} of {signals.questions} training questions "
            f"({signals.best_retriever}, among the first 3)"
        )
        yield from _each(RETRIEVAL, 5, "retrieval measured", text, "probe")


def _absorbing_measured(ctx: Context) -> str:
    """What taking new documents in costs each way, as measured here: indexing against training."""
    signals = ctx.probe.documents if ctx.probe is not None else None
    training = ctx.estimates.get("lora")
    if signals is None or training is None:
        return ""
    per_document = signals.index_seconds / max(signals.n_documents, 1)
    return (
        f"the knowledge changes often: indexing all {signals.n_documents:,} documents took "
        f"{signals.index_seconds:.1f} s here ({per_document * 1000:.0f} ms a document), against about "
        f"{human_duration(training.hours)} for each LoRA training run"
    )


def citations(ctx: Context) -> Iterator[Finding]:
    if ctx.answers.needs_citations:
        text = "answers must cite their sources: only retrieval returns the passages an answer came from"
        yield from _each(RETRIEVAL, 20, "citations", text, "lewis2020")
        yield from _each(
            ADAPTERS, -20, "citations", "a fine-tuned model cannot say where an answer came from", "lewis2020"
        )
        yield Reason("prompting", -10, "citations", "a prompted model has no sources to cite", "lewis2020")


def gains_add_up(ctx: Context) -> Iterator[Finding]:
    a = ctx.answers
    if a.n_documents > 0 and a.n_examples >= FINE_TUNING_GAINS_START and a.task in ("qa", "generation", "extraction"):
        text = f"documents and {a.n_examples:,} examples: fine-tuning (+6 points) and RAG (+5) gains add up"
        yield Reason("rag+lora", 20, "combined gains", text, "balaguer2024")


def classification(ctx: Context) -> Iterator[Finding]:
    a = ctx.answers
    if a.task != "classification":
        text = "a linear head only classifies: it predicts one of a fixed set of labels, never an answer's text"
        yield Constraint("head", "not classification", text, "tunewise")
        return
    if a.n_examples >= SOME_EXAMPLES and not ctx.measured:
        text = "a nearest-neighbour vote over embeddings is a strong classifier (0.920 on BANKING77)"
        yield Reason("rag", 10, "classification", text, "casanueva2020")
        text = "a linear head on frozen sentence embeddings trains in seconds and is strong (0.928 on BANKING77)"
        yield Reason("head", 10, "classification", text, "benchmarks")
        if a.n_examples >= MANY_EXAMPLES:
            yield from _each(
                ADAPTERS,
                5,
                "classification",
                "trained classifiers beat it by 1-2 points given enough data (93-94% on BANKING77)",
                "casanueva2020",
            )
    if a.n_examples < MIN_FINE_TUNING_EXAMPLES:
        yield Constraint("head", "too little data", f"{a.n_examples} examples: too few to fit a classifier", "tunewise")
    if a.n_labels is not None and a.n_labels > MANY_LABELS:
        yield Reason(
            "prompting",
            -15,
            "many labels",
            f"{a.n_labels} labels are too many to describe and tell apart in a prompt",
            "tunewise",
        )
    if a.n_documents == 0:
        yield Reason(
            "rag+lora",
            -20,
            "classification",
            "with no documents, retrieval adds nothing to a trained classifier",
            "tunewise",
        )


# ---------------------------------------------------------------------------- measured on the data

TIED_AND_CHEAPEST = 40  # what a comparison would ship: as good as the best, for the least
TIED_COSTLIER = 10
BELOW_BEST = 15  # the least an arm expected below the best loses, more with the distance
BELOW_PER_POINT = 3  # per point of accuracy beyond the tie margin
MAX_BELOW = 40
# Training this short is cheaper to measure than to predict: the probe's signals come from frozen
# features and say little about what fine-tuning does with a few hundred examples (the demo: the
# vote 0.78, LoRA 0.92 after 85 s of training).
CHEAP_TRAINING_MINUTES = 5.0
CHEAP_TO_CHECK = TIED_AND_CHEAPEST + 5


def measured_quality(ctx: Context) -> Iterator[Finding]:
    """The probe's expected score of each arm, judged the way a comparison judges measured ones:
    arms that a test of this size could not tell from the best are tied, and the cheapest tied
    arm is the one to ship."""
    if not ctx.measured:
        return
    expected = {m: e for m, e in ctx.expected.items() if m in ctx.estimates and _usable(ctx, m)}
    if not expected:
        return
    best = max(expected, key=lambda m: expected[m].mid)
    top = expected[best].mid

    def margin(method: str) -> float:
        return tie_margin(expected[method].mid, top, ctx.test_size)

    tied = [m for m in expected if top - expected[m].mid <= margin(m)]
    cheapest = min(tied, key=lambda m: (ctx.estimates[m].hours, ctx.estimates[m].cost_usd))
    floor = expected[cheapest].mid
    # Worth checking only if even its best case could pass the test that would have to tell it from
    # the cheapest tied arm: near the ceiling, the room left is within what a test of this size
    # leaves to chance, and the training would cost time to come out tied.
    quick = [
        m
        for m in expected
        if m in ADAPTERS
        and ctx.estimates[m].hours * 60 <= CHEAP_TRAINING_MINUTES
        and expected[m].high - floor > tie_margin(floor, expected[m].high, ctx.test_size)
    ]
    for method, e in expected.items():
        said = f"expected {e.mid:.2f} ({e.low:.2f}-{e.high:.2f}; {e.basis})"
        if method in quick and cheapest not in ADAPTERS:
            minutes = ctx.estimates[method].hours * 60
            text = (
                f"{said}: about {minutes:.0f} min of training here, cheaper to measure than to predict; it may reach "
                f"{e.high:.2f} where {cheapest} is expected at {floor:.2f}"
            )
            yield Reason(method, CHEAP_TO_CHECK, "cheap to check", text, "probe")
        elif method == cheapest and method == best:
            text = f"{said}: the best expected, and no cheaper arm is expected within reach of it"
            yield Reason(method, TIED_AND_CHEAPEST, "measured quality", text, "probe")
        elif method == cheapest:
            text = f"{said}: within {margin(method):.2f} of the best expected ({top:.2f}) and the cheapest such arm"
            yield Reason(method, TIED_AND_CHEAPEST, "measured quality", text, "probe")
        elif method in tied:
            text = f"{said}: tied with the best expected ({top:.2f}), but {cheapest} gets there for less"
            yield Reason(method, TIED_COSTLIER, "measured quality", text, "probe")
        else:
            beyond = (top - e.mid - margin(method)) * 100
            points = min(MAX_BELOW, BELOW_BEST + BELOW_PER_POINT * beyond)
            text = (
                f"{said}: {100 * (top - e.mid):.0f} points below {best}'s {top:.2f}, more than a test of "
                f"{ctx.test_size:,} examples leaves to chance"
            )
            yield Reason(method, -round(points), "measured quality", text, "probe")


def _usable(ctx: Context, method: str) -> bool:
    """Whether an arm could run at all here: its estimate fits (locally or on a rented GPU) and
    the budget, and 4-bit training exists for the model on this hardware."""
    if method == "qlora" and not ctx.hardware.on_gpu and ctx.spec.kind == "encoder":
        return False
    estimate, a = ctx.estimates[method], ctx.answers
    if a.budget_hours is not None and estimate.hours > a.budget_hours:
        return False
    if a.budget_usd is not None and estimate.cost_usd > a.budget_usd:
        return False
    return estimate.fits or method in ctx.rented


def latency(ctx: Context) -> Iterator[Finding]:
    budget = ctx.answers.latency_ms
    if budget is not None and budget < FAST_LATENCY_MS:
        text = f"a {budget:g} ms budget: retrieval adds a search and k passages to every prompt"
        yield from _each(RETRIEVAL, -10, "latency", text, "tunewise")
        if ctx.answers.n_examples > 0:
            yield Reason("prompting", -5, "latency", "few-shot examples lengthen every prompt", "tunewise")
        yield from _each(
            ADAPTERS, 5, "latency", "a fine-tuned model needs no examples or passages in its prompt", "tunewise"
        )


# ---------------------------------------------------------------------------- techniques, memory and money


def techniques(ctx: Context) -> Iterator[Finding]:
    full, lora = ctx.estimates.get("full"), ctx.estimates.get("lora")
    cheap = (
        full is not None
        and lora is not None
        and ctx.fits_locally("full")
        and full.memory_gb <= 2 * lora.memory_gb
        and full.hours <= 1.5 * lora.hours + 0.05
    )
    if cheap and full is not None:
        text = f"a small model: updating all weights costs about as little as LoRA here ({full.memory_gb:.1f} GB)"
        yield Reason("full", 5, "technique", text, "guide:techniques")
    else:
        yield Reason("full", -10, "technique", "updates all weights: the costly option", "guide:techniques")
    text = "LoRA matches full fine-tuning with far fewer trainable parameters and no added latency once merged"
    yield Reason("lora", 5, "technique", text, "lora2021")
    if ctx.fits_locally("lora") and ctx.fits_locally("qlora"):
        yield Reason(
            "qlora",
            -5,
            "technique",
            "LoRA already fits, so 4-bit quantization would only slow training down",
            "qlora2023",
        )
    elif ctx.fits_locally("qlora"):
        text = "only QLoRA fits your hardware; 4-bit NF4 with double quantization matches 16-bit quality"
        yield Reason("qlora", 20, "memory", text, "qlora2023")
    if not ctx.hardware.on_gpu and ctx.spec.kind == "encoder" and ctx.spec.n_params() < SMALL_ENCODER_PARAMS:
        text = (
            "on CPU cores a small encoder trains faster and better in full than with LoRA (MiniLM-L6 on BANKING77: "
            "32.4 against 23.8 samples/s, accuracy 0.921 against 0.906)"
        )
        yield Reason("full", 10, "measured on CPU", text, "benchmarks")
        yield Reason("lora", -5, "measured on CPU", text, "benchmarks")
    if not ctx.hardware.on_gpu:
        if ctx.spec.kind == "encoder":
            text = "4-bit training of BERT-style encoders fails on CPU with bitsandbytes 0.50; use LoRA"
            yield Constraint("qlora", "no 4-bit kernels", text, "tunewise")
        else:
            yield Reason("qlora", -10, "CPU only", "4-bit kernels are slow on a CPU", "tunewise")


def memory(ctx: Context) -> Iterator[Finding]:
    for method, estimate in ctx.estimates.items():
        if method in ctx.rented:
            gpu = ctx.rented[method]
            text = (
                f"needs {estimate.memory_gb:.1f} GB, more than your {ctx.hardware.describe()}: "
                f"planned on a rented {gpu.describe()}"
            )
            yield Reason(method, -15, "memory", text, "estimator")
        elif not estimate.fits:
            where = ctx.hardware.describe()
            if ctx.answers.must_run_locally:
                text = f"needs {estimate.memory_gb:.1f} GB: does not fit in {where}, and it must run locally"
            else:
                text = f"needs {estimate.memory_gb:.1f} GB: more than any single 8-GPU machine offers"
            yield Constraint(method, "memory", text, "estimator")


def budget(ctx: Context) -> Iterator[Finding]:
    a = ctx.answers
    for method, estimate in ctx.estimates.items():
        if a.budget_usd is not None and estimate.cost_usd > a.budget_usd:
            text = f"costs about ${estimate.cost_usd:,.2f}, over your ${a.budget_usd:,.2f} budget"
            yield Constraint(method, "budget", text, "estimator")
        if a.budget_hours is not None and estimate.hours > a.budget_hours:
            text = f"takes about {estimate.hours:,.1f} h, over your {a.budget_hours:g} h budget"
            yield Constraint(method, "time budget", text, "estimator")


RULES: tuple[Rule, ...] = (
    one_off_or_production,
    amount_of_data,
    prompt_controllable,
    tone_and_style,
    domain_adaptation,
    knowledge_in_documents,
    documents_measured,
    citations,
    gains_add_up,
    classification,
    measured_quality,
    latency,
    techniques,
    memory,
    budget,
)
