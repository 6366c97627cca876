"""From answers to a ranked, explained and costed recommendation.

    answers ─► model shape + hardware ─► estimates per method ─► rules ─► scores ─► ranking
                                                                                   ├─► guide table
                                                                                   └─► next step
Pure Python: it imports no torch and answers in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from advisor.answers import Answers
from advisor.architectures import KNOWN, ModelSpec, spec_for, spec_from_params
from advisor.calibration import Measured, calibrate
from advisor.estimate import Estimate, Hardware, estimate_inference
from advisor.expectations import Expected, expected_quality, test_size_for
from advisor.hyperparameters import Hyperparameters, advised_training_keys, base_plan, fit_plan, hyperparameters
from advisor.rules import BASE_SCORE, RULES, Constraint, Context, Reason
from advisor.sources import SOURCES
from tunewise.errors import ConfigError
from tunewise.names import METHODS, OPTIONS, TRAINED_OPTIONS, Method, default_model
from tunewise.probes import Probe
from tunewise.units import human_duration, human_money

RENTAL_GPU_GB = 80.0  # the card a method is planned on when it outgrows the user's hardware
MAX_RENTAL_GPUS = 8
EMBEDDER = "minilm-l6"
TOKENS_PER_DOCUMENT = 800
PASSAGES, PASSAGE_TOKENS = 4, 256
FEW_SHOTS = 5
INSTRUCTION_TOKENS = 100


@dataclass
class MethodResult:
    method: str
    score: float
    reasons: list[Reason]
    constraints: list[Constraint]
    estimate: Estimate
    hyperparameters: Hyperparameters | None = None
    expected: Expected | None = None  # the probe's expected score, when the data was probed

    @property
    def feasible(self) -> bool:
        return not self.constraints

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "score": round(self.score, 1),
            "feasible": self.feasible,
            "reasons": [_reason_dict(r) for r in sorted(self.reasons, key=lambda r: -abs(r.points))],
            "constraints": [
                {"criterion": c.criterion, "text": c.text, "source": SOURCES[c.source].short} for c in self.constraints
            ],
            "estimate": self.estimate.to_dict(),
            "expected": self.expected.to_dict() if self.expected else None,
            # How a comparison's arm of this method would train (what `--set` can change).
            "training": advised_training_keys(self.hyperparameters) if self.hyperparameters else None,
        }


def _reason_dict(reason: Reason) -> dict[str, Any]:
    return {
        "points": reason.points,
        "criterion": reason.criterion,
        "text": reason.text,
        "source": SOURCES[reason.source].short,
    }


@dataclass
class Recommendation:
    recommended: str
    ranking: list[MethodResult]
    answers: Answers
    model: str
    model_params: int
    hardware: Hardware
    table: list[dict[str, str]]
    next_step: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    probe: Probe | None = None
    train_step: dict[str, Any] | None = None  # the next step of the best fine-tuning method, whatever wins
    hosted: dict[str, Any] | None = None  # the same examples fine-tuned on OpenAI's API (compare.advise adds it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommended": self.recommended,
            "probe": self.probe.to_dict() if self.probe else None,
            "train_step": self.train_step,
            "ranking": [r.to_dict() for r in self.ranking],
            "model": {"name": self.model, "params": self.model_params},
            "hardware": self.hardware.describe(),
            "fine_tuning_vs_prompting": self.table,
            "hosted_fine_tuning": self.hosted,
            "next_step": self.next_step,
            "answers": self.answers.to_dict(),
            "sources": {s.short: s.full for s in SOURCES.values()},
            "notes": self.notes,
        }


# ---------------------------------------------------------------------------- inputs


def model_name(answers: Answers) -> str:
    return answers.base_model or default_model(answers.task)


def model_spec(answers: Answers) -> ModelSpec:
    if answers.model_params is not None:
        return spec_from_params(answers.model_params, "encoder" if answers.task == "classification" else "causal-lm")
    return spec_for(model_name(answers))


def hardware_of(answers: Answers) -> Hardware:
    return Hardware(answers.gpu_memory_gb, answers.gpus, answers.ram_gb, answers.cpu_cores, answers.price_per_gpu_hour)


def _rental(answers: Answers, gpus: int = 1) -> Hardware:
    return Hardware(RENTAL_GPU_GB, gpus, max(answers.ram_gb, 128.0), answers.cpu_cores, answers.price_per_gpu_hour)


# ---------------------------------------------------------------------------- estimates


def _n_eval(answers: Answers) -> int:
    return max(20, round(0.2 * answers.n_examples)) if answers.n_examples else 100


def _answer_tokens(answers: Answers) -> int:
    return 8 if answers.task == "classification" else 128


def _prompting(answers: Answers, spec: ModelSpec, hardware: Hardware) -> Estimate:
    shots = min(FEW_SHOTS, answers.n_examples)
    prompt = INSTRUCTION_TOKENS + (shots + 1) * answers.mean_tokens
    return estimate_inference(
        spec, hardware, n_queries=_n_eval(answers), prompt_tokens=prompt, new_tokens=_answer_tokens(answers)
    )


def _retrieval_extras(answers: Answers, hardware: Hardware) -> tuple[float, float]:
    """Index memory (bytes) and build time (hours) of embedding the corpus with MiniLM."""
    embedder = KNOWN[EMBEDDER]
    chunks = answers.n_documents * math.ceil(TOKENS_PER_DOCUMENT / PASSAGE_TOKENS) + answers.n_examples
    tokens = answers.n_documents * TOKENS_PER_DOCUMENT + answers.n_examples * answers.mean_tokens
    index_bytes = chunks * embedder.hidden_size * 4 + embedder.n_params() * 4
    hours = 2 * embedder.n_params() * tokens / hardware.flops_per_second / 3600
    return index_bytes, hours


def _rag(answers: Answers, spec: ModelSpec, hardware: Hardware) -> Estimate:
    index_bytes, build_hours = _retrieval_extras(answers, hardware)
    if answers.task == "classification":
        # A nearest-neighbour vote: no generation at all, only embeddings.
        embedder = KNOWN[EMBEDDER]
        return estimate_inference(
            embedder, hardware, n_queries=_n_eval(answers), prompt_tokens=answers.mean_tokens, new_tokens=0,
            extra_bytes=index_bytes, extra_hours=build_hours, label="rag",
        )  # fmt: skip
    context = (answers.n_documents and PASSAGES * PASSAGE_TOKENS) or FEW_SHOTS * answers.mean_tokens
    prompt = INSTRUCTION_TOKENS + context + answers.mean_tokens
    return estimate_inference(
        spec, hardware, n_queries=_n_eval(answers), prompt_tokens=prompt, new_tokens=_answer_tokens(answers),
        extra_bytes=index_bytes, extra_hours=build_hours, label="rag",
    )  # fmt: skip


HEAD_FITS, HEAD_ITERATIONS = 5, 100  # C values tried on validation; L-BFGS passes over the data


def _head(answers: Answers, spec: ModelSpec, hardware: Hardware) -> Estimate:
    """A logistic-regression head on frozen embeddings: the retrieval arm's embedding, plus a few
    seconds of fitting (each pass multiplies every embedding by the label matrix)."""
    rag = _rag(replace(answers, task="classification"), spec, hardware)
    embedder = KNOWN[EMBEDDER]
    labels = max(answers.n_labels or 2, 2)
    fit_flops = HEAD_FITS * HEAD_ITERATIONS * 2 * answers.n_examples * embedder.hidden_size * labels
    return replace(rag, method="head", hours=rag.hours + fit_flops / hardware.flops_per_second / 3600)


def _place(answers: Answers, estimate_on: Callable[[Hardware], Estimate]) -> tuple[Estimate, Hardware | None]:
    """Estimate on the user's hardware; when it cannot hold the method and the work may leave
    the premises, on the fewest rented 80 GB GPUs that can."""
    estimate = estimate_on(hardware_of(answers))
    if estimate.fits or answers.must_run_locally:
        return estimate, None
    for gpus in (1, 2, 4, MAX_RENTAL_GPUS):
        rental = _rental(answers, gpus)
        rented = estimate_on(rental)
        if rented.fits:
            return rented, rental
    return estimate, None


def _training(answers: Answers, spec: ModelSpec, method: Method) -> tuple[Estimate, Hyperparameters, Hardware | None]:
    def on(hardware: Hardware) -> Estimate:
        return fit_plan(base_plan(answers, spec, method), spec, hardware)[1]

    estimate, rental = _place(answers, on)
    plan, _ = fit_plan(base_plan(answers, spec, method), spec, rental or hardware_of(answers))
    return estimate, hyperparameters(answers, spec, plan), rental


# ---------------------------------------------------------------------------- the recommendation


def recommend(
    answers: Answers,
    data_path: str | None = None,
    *,
    probe: Probe | None = None,
    test_size: int | None = None,
    history: Sequence[Measured] = (),
) -> Recommendation:
    """Rank every method for these answers (and what `probe` measured on the data, when given);
    raise `ConfigError` when none can work. `test_size` is how many examples a comparison would
    score on (default: a fifth of the data), which decides how close two expected scores tie.
    `history`: training runs measured on this machine (`advisor.calibration`), which correct the
    training estimates on its hardware once there are enough of them."""
    spec = model_spec(answers)
    hardware = hardware_of(answers)
    estimates: dict[str, Estimate] = {}
    params: dict[str, Hyperparameters] = {}
    rented: dict[str, Hardware] = {}
    for method, place in (("prompting", _prompting), ("rag", _rag), ("head", _head)):

        def on(hw: Hardware, place: Callable[[Answers, ModelSpec, Hardware], Estimate] = place) -> Estimate:
            return place(answers, spec, hw)

        estimates[method], rental = _place(answers, on)
        if rental is not None:
            rented[method] = rental
    for method in METHODS:
        estimate, hp, rental = _training(answers, spec, method)
        if rental is None:  # a rented machine has no history here
            estimate = calibrate(estimate, history, hardware)
        estimates[method], params[method] = estimate, hp
        if rental is not None:
            rented[method] = rental
    estimates["rag+lora"] = _combined(estimates["lora"], estimates["rag"])
    params["rag+lora"] = params["lora"]
    if "lora" in rented:
        rented["rag+lora"] = rented["lora"]

    expected = expected_quality(probe, test_size) if probe is not None else {}
    tested = test_size_for(answers.n_examples, test_size)
    context = Context(answers, spec, hardware, estimates, rented, probe, expected, tested)
    reasons: dict[str, list[Reason]] = {m: [] for m in OPTIONS}
    constraints: dict[str, list[Constraint]] = {m: [] for m in OPTIONS}
    for rule in RULES:
        for finding in rule(context):
            if isinstance(finding, Constraint):
                constraints[finding.method].append(finding)
            else:
                reasons[finding.method].append(finding)
    results = [
        MethodResult(
            m,
            max(0.0, BASE_SCORE[m] + sum(r.points for r in reasons[m])),
            reasons[m],
            constraints[m],
            estimates[m],
            params.get(m),
            expected.get(m),
        )
        for m in OPTIONS
    ]
    ranking = sorted(results, key=lambda r: (not r.feasible, -r.score, r.estimate.cost_usd, OPTIONS.index(r.method)))
    best = ranking[0]
    if not best.feasible:
        raise ConfigError(_nothing_fits(ranking, answers))
    notes = [f"{m} planned on a rented {hw.describe()}" for m, hw in rented.items()]
    tuned = next((r for r in ranking if r.method in METHODS and r.feasible), None)
    return Recommendation(
        best.method,
        ranking,
        answers,
        spec.name,
        spec.n_params(),
        hardware,
        _guide_table(answers, ranking),
        _next_step(best, answers, spec, data_path),
        notes,
        probe,
        _next_step(tuned, answers, spec, data_path) if tuned is not None else None,
    )


def _combined(lora: Estimate, rag: Estimate) -> Estimate:
    memory = lora.memory if lora.memory.total >= rag.memory.total else rag.memory
    return replace(
        lora,
        method="rag+lora",
        memory=memory,
        hours=lora.hours + rag.hours,
        cost_usd=lora.cost_usd + rag.cost_usd,
        fits=lora.fits and rag.fits,
    )


def _nothing_fits(ranking: list[MethodResult], answers: Answers) -> str:
    relevant = [r for r in ranking if not any(c.criterion == "not classification" for c in r.constraints)]
    budget_blocked = all(any(c.criterion in {"budget", "time budget"} for c in r.constraints) for r in relevant)
    if budget_blocked:
        cheapest = min(relevant, key=lambda r: r.estimate.cost_usd)
        return (
            f"the budget is too small for any method: the cheapest, {cheapest.method}, needs about "
            f"${cheapest.estimate.cost_usd:,.2f} and {cheapest.estimate.hours:,.2f} h; raise budget_usd or budget_hours"
        )
    blocks = "; ".join(f"{r.method}: {r.constraints[0].text}" for r in ranking)
    return f"no method can work with these answers ({blocks}); relax one of them"


def _guide_table(answers: Answers, ranking: list[MethodResult]) -> list[dict[str, str]]:
    """The guide's "Fine-Tuning vs Prompting" table, in this user's numbers."""
    by_method = {r.method: r for r in ranking}
    tuned = next((r for r in ranking if r.method in METHODS and r.feasible), by_method["lora"])
    prompt, ft = by_method["prompting"].estimate, tuned.estimate
    shots = min(FEW_SHOTS, answers.n_examples)
    ft_cost = (
        f"{human_money(ft.cost_usd)} ({human_duration(ft.hours)} at ${answers.price_per_gpu_hour:g}/GPU-hour)"
        if ft.cost_usd > 0
        else f"$0 on your own machine ({human_duration(ft.hours)})"
    )
    labels = f" with {answers.n_labels} labels" if answers.n_labels else ""
    return [
        {
            "feature": "Customization Level",
            "prompting": f"shallow: instructions plus {shots} of your examples in each prompt",
            "fine_tuning": f"deep ({tuned.method}): {ft.trainable_params:,} trainable parameters learn from all "
            f"{answers.n_examples:,} examples",
        },
        {
            "feature": "Speed",
            "prompting": "instant: usable now",
            "fine_tuning": f"{human_duration(ft.hours)} of training on {ft.device}",
        },
        {
            "feature": "Use Case",
            "prompting": "general tasks",
            "fine_tuning": f"your {answers.task} task{labels}",
        },
        {
            "feature": "Cost",
            "prompting": f"{human_money(prompt.cost_usd)}: inference only",
            "fine_tuning": ft_cost,
        },
    ]


def _next_step(best: MethodResult, answers: Answers, spec: ModelSpec, data_path: str | None) -> dict[str, Any]:
    data = data_path or "DATA"
    model = answers.base_model or (model_name(answers) if answers.model_params is None else "BASE_MODEL")
    step: dict[str, Any] = {"method": best.method}
    commands: list[str] = []
    if best.method in ("rag", "rag+lora"):
        corpus = data if answers.n_documents == 0 else "DOCUMENTS"
        commands += [f"tunewise rag build {corpus} --out index", "tunewise rag eval index --data EVAL_DATA --json"]
    if best.hyperparameters is not None and best.method in TRAINED_OPTIONS:
        method = "lora" if best.method == "rag+lora" else best.method
        config = best.hyperparameters.to_config(model, answers.task, data)
        config["method"] = method
        step["config_file"] = f"tunewise-{method}.yaml"
        step["config"] = config
        commands.append(f"tunewise train tunewise-{method}.yaml")
    if best.method == "head":
        commands.append(f"tunewise compare --data {data} --arms rag,head")
    if best.method == "prompting":
        commands.append(f'tunewise generate --model {model} --system "YOUR INSTRUCTIONS" "AN INPUT"')
    step["commands"] = commands
    return step
