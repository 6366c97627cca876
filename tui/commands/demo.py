"""`tunewise demo`: the whole loop, headless, on the built-in demo data and models.

Profile the data, recommend, then compare zero-shot prompting (on a sample), the retrieval
arm, the linear head and the recommended training method on one frozen split, and write the
report. It needs nothing but the installed packages: no network, no GPU, no file of the user's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tui.commands.lm_flags import add_lm_arguments, lm_choice, served_from
from tui.commands.seed_flags import add_seeds_argument

DEFAULT_OUT = Path("tunewise-demo")
PROMPT_SAMPLE = 100  # test examples the prompted arm answers
DOCUMENTS_SAMPLE = 40  # on documents every arm generates, for the old questions and the later ones
QUICK_PROMPT_SAMPLE = 12
QUICK_CHOICE_SAMPLE = 8  # validation examples per prompt template
QUICK_GENERAL_SAMPLE = 8  # answer data: general questions the trained model and its base answer
QUICK_TRAINING = ["max_steps=6", "per_device_train_batch_size=8"]  # enough steps to prove the loop
FALLBACK_TRAINED_ARM = "lora"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the whole loop on the built-in data: profile, recommend, compare, report (a few minutes on a CPU)",
        description="Profile the built-in demo data, recommend, compare prompting, rag, head and the recommended "
        "training method on one frozen split, and write the report.",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"where the report goes (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke test: {QUICK_PROMPT_SAMPLE} prompted examples and a few training steps (well under a minute)",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="questions on the built-in FOLDOC documents instead: closed-book prompting, RAG over the documents, "
        "fine-tuning on the documents and both, on old knowledge and on documents added later",
    )
    parser.add_argument("--fresh", action="store_true", help="run every arm again, even one recorded before")
    add_lm_arguments(parser, "the model the prompted arm asks: a local one (default: smollm2-135m-instruct)")
    add_seeds_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from compare.advise import advise
    from compare.arms import arm_names
    from compare.plan import ComparisonPlan
    from compare.report.workspace import workspace, write_reports
    from compare.runner import run_comparison
    from tui.commands.compare import render
    from tunewise.data.demo import document_set
    from tunewise.data.task import DataSpec, load_task_data
    from tunewise.ownership import COMPARISON, check_target

    out = check_target(args.out, COMPARISON, flag="--out")
    served = served_from(args, fresh=args.fresh)  # before anything runs: one line for a wrong server or key
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.docs:
        files = document_set("foldoc")
        spec = DataSpec(path=files.train, eval_path=files.test)
        documents: dict[str, Any] = {"docs": files.docs, "new_docs": files.new_docs, "new_eval": files.new_test}
    else:
        spec, documents = DataSpec(path="demo"), {}
    data = load_task_data(spec)
    if args.docs:
        say(
            f"data: the built-in FOLDOC documents, {len(data.train):,} questions to learn from and {len(data.eval):,} "
            "to test on, and documents that arrive later with questions only they answer"
        )
    else:
        say(
            f"data: the built-in demo, {len(data.train) + len(data.eval):,} {data.task} examples, "
            f"{len({*(data.train.labels() or []), *(data.eval.labels() or [])})} labels (a seeded "
            f"{len(data.eval):,}-example test split)"
        )
    # The comparison probes the same examples and reads this probe back from the cache.
    recommendation = advise(data, served=served).recommendation
    trained = next(
        (
            r.method
            for r in recommendation.ranking
            if r.feasible and r.method in arm_names("documents" if args.docs else "classification", kind="trained")
        ),
        FALLBACK_TRAINED_ARM,
    )
    say(f"advice: {recommendation.recommended} (the training method to try: {trained})")
    timings["profile, probe and advice"] = time.perf_counter() - started

    arms = f"prompting,rag,{trained},rag+lora" if args.docs else f"prompting,rag,head,{trained}"
    plan = ComparisonPlan(
        data=spec,
        arms=arms,
        prompt_sample=QUICK_PROMPT_SAMPLE if args.quick else (DOCUMENTS_SAMPLE if args.docs else PROMPT_SAMPLE),
        choice_sample=QUICK_CHOICE_SAMPLE if args.quick else ComparisonPlan.choice_sample,
        overrides=list(QUICK_TRAINING) if args.quick else [],
        fresh=args.fresh,
        seeds=args.seeds,
        general_sample=QUICK_GENERAL_SAMPLE if args.quick else ComparisonPlan.general_sample,
        **lm_choice(args).plan_fields(),
        **documents,
    )
    with workspace(out) as work:
        results = run_comparison(plan, say, out=out)
        write_reports(work, results)
    for arm in results.finished:
        timings[arm.name] = arm.cost.setup_seconds + arm.cost.seconds_per_example * (arm.examples or 0)
    total = time.perf_counter() - started
    render(results, out)
    say(
        "time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()) + f"; in all {total:.0f} s"
    )
    print(f"report: {(out / 'report.html').resolve()}")
    return 0
