"""`tunewise compare`: run the arms on one frozen split and say which to ship.

The command parses its flags, calls the comparison room (`compare.runner.run_comparison`, which
`tunewise demo` and the app call too) inside `compare.report.workspace`, and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from compare.arms import DEFAULT_ARMS, arm_names
from compare.plan import DEFAULT_PROMPT_SAMPLE, ComparisonPlan
from compare.report.workspace import workspace, write_reports
from tui.commands import numbers
from tui.commands.document_flags import add_document_arguments, document_flags
from tui.commands.lm_flags import add_lm_arguments, lm_choice
from tui.commands.seed_flags import add_seeds_argument

if TYPE_CHECKING:
    from rich.console import Console

    from compare.results import Results


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run the arms on one frozen split: metrics with intervals, costs, and the arm to ship",
        description="Run the arms on one frozen split (test scored once, every choice on validation) and judge them.",
    )
    parser.add_argument(
        "--data",
        help="training data; with --docs, questions with reference answers (default: demo, or the set --docs names)",
    )
    parser.add_argument("--eval", dest="eval_path", metavar="TEST", help="the test set (default: a split of --data)")
    add_document_arguments(parser)
    parser.add_argument("--columns", metavar="MAP", help="column mapping, e.g. text=utterance,label=intent")
    parser.add_argument("--eval-fraction", type=numbers.finite, default=0.2, help="test share when --eval is absent")
    parser.add_argument(
        "--validation-fraction",
        type=numbers.finite,
        default=0.1,
        help="share of train every arm chooses on (default: 0.1)",
    )
    parser.add_argument("--seed", type=numbers.seed, default=42)
    parser.add_argument(
        "--arms",
        default=DEFAULT_ARMS,
        help=f"comma-separated: {', '.join(arm_names())}; or recommended (the advisor's top choices and the "
        f"cheapest baseline), or all (default: {DEFAULT_ARMS})",
    )
    parser.add_argument(
        "--prompt-sample",
        type=numbers.whole,
        default=DEFAULT_PROMPT_SAMPLE,
        metavar="N",
        help=f"score the prompted arms on a seeded sample of N test examples, 0 for all (default: {DEFAULT_PROMPT_SAMPLE})",
    )
    parser.add_argument(
        "--choice-sample",
        type=numbers.whole,
        default=ComparisonPlan.choice_sample,
        metavar="N",
        help="validation examples each choice of a prompted arm (template, examples shown) is tried on "
        f"(default: {ComparisonPlan.choice_sample})",
    )
    parser.add_argument(
        "--budget-minutes",
        type=numbers.finite,
        metavar="M",
        help="skip a training arm the estimator says cannot finish in the time left (default: the answers' "
        "budget_hours, else no limit)",
    )
    add_seeds_argument(parser)
    parser.add_argument(
        "--general-sample",
        type=numbers.whole,
        default=ComparisonPlan.general_sample,
        metavar="N",
        help="answer data: general questions (trivia, none in the data) each trained model and its base model "
        f"answer, for what training cost it in general; 0 for none (default: {ComparisonPlan.general_sample})",
    )
    parser.add_argument(
        "--answers", type=Path, metavar="FILE", help="your answers (YAML): the declared hardware, price and budget"
    )
    add_lm_arguments(parser, "the model the prompted arms ask: a local one (default: smollm2-135m-instruct)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training key for the trained arms, as in `tunewise train --set` (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write results.json here (replaced only if a comparison)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="run every arm again, even one the run registry holds a result for"
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="fix the advice from the answers alone, without measuring the data first (the probe is cached)",
    )
    parser.add_argument(
        "--allow-overlap",
        action="store_true",
        help="run even when most test examples are exact copies of train examples (overlap is always scored apart)",
    )
    parser.add_argument("--json", action="store_true", help="print results.json instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tunewise.data.shapes import parse_column_map
    from tunewise.data.task import DataSpec
    from tunewise.ownership import COMPARISON, check_target

    documents = document_flags(args)
    plan = ComparisonPlan(
        data=DataSpec(
            path=args.data,
            eval_path=args.eval_path,
            columns=parse_column_map(args.columns),
            eval_fraction=args.eval_fraction,
            seed=args.seed,
        ),
        arms=args.arms,
        validation_fraction=args.validation_fraction,
        prompt_sample=args.prompt_sample,
        choice_sample=args.choice_sample,
        **lm_choice(args).plan_fields(),
        overrides=args.overrides,
        answers_file=args.answers,
        budget_minutes=args.budget_minutes,
        seeds=args.seeds,
        general_sample=args.general_sample,
        fresh=args.fresh,
        probe=not args.no_probe,
        allow_overlap=args.allow_overlap,
        **documents.plan_fields(),
    )
    plan.check()  # a misspelt arm fails before any data is read
    inputs = [args.data, args.eval_path, *documents.plan_fields().values()]
    out = check_target(args.out, COMPARISON, flag="--out", inputs=inputs) if args.out else None
    with workspace(out) as work:
        from compare.runner import run_comparison  # the rooms load when a comparison runs, not for --help

        results = run_comparison(plan, lambda line: print(line, file=sys.stderr, flush=True), out=out)
        write_reports(work, results)
    if args.json:
        print(results.to_json())
    else:
        render(results, out)
    return 0


def render_general(console: Console, results: Results) -> None:
    """What each trained answer model kept of general knowledge, beside its score on the task."""
    from rich.table import Table

    from compare.report.general import GENERAL_COLUMNS, general_rows, general_sentence

    rows = general_rows(results)
    if not rows:
        return
    table = Table(title="what training cost in general")
    for name in GENERAL_COLUMNS:
        table.add_column(name)
    for row in rows:
        table.add_row(*(row[name] for name in GENERAL_COLUMNS))
    console.print(table)
    console.print(general_sentence(results).replace("**", "").replace("`", ""), markup=False)


def render_documents(console: Console, results: Results) -> None:
    """Retrieval's recall by retriever, and each arm on the knowledge that arrived later."""
    from rich.table import Table

    from compare.report.documents import LATER_COLUMNS, later_rows, later_sentence, retrieval_rows

    rows = retrieval_rows(results)
    if rows:
        table = Table(title="retrieval over the documents (a passage holds the answer)")
        for name in rows[0]:
            table.add_column(name)
        for row in rows:
            table.add_row(*row.values())
        console.print(table)
    later = later_rows(results)
    if later:
        table = Table(title="knowledge that arrived later")
        for name in LATER_COLUMNS:
            table.add_column(name)
        for row in later:
            table.add_row(*(row[name] for name in LATER_COLUMNS))
        console.print(table)
        console.print(later_sentence(results).replace("**", "").replace("`", ""), markup=False)


def render(results: Results, out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from compare.report.markdown import advice_fate, arm_rows, columns

    table = Table(title="arms on the frozen test set")
    hidden = ("set-up on declared hardware", "on disk", "p vs best", "per 1,000 predictions")
    shown = [c for c in columns(results) if c not in hidden]
    for column in shown:
        table.add_column(column)
    for row in arm_rows(results):
        table.add_row(*(row[column] for column in shown))
    console = Console()
    console.print(table)
    verdict = results.verdict
    if verdict:
        console.print(
            f"best: {verdict.best} ({'significant' if verdict.significant else 'not significant'}); "
            f"ship: [b]{verdict.ship}[/]; advice {verdict.advice}: {advice_fate(verdict)} "
            f"({verdict.reason})"
        )
    from compare.report.markdown import break_even_sentence, overlap_sentence

    if break_even_sentence(results):
        console.print(break_even_sentence(results).replace("**", "").replace("`", ""), markup=False)
    if overlap_sentence(results):
        console.print("[yellow]" + overlap_sentence(results).replace("**", "").replace("`", "") + "[/]")
    render_documents(console, results)
    render_general(console, results)
    if out is not None:
        console.print(f"results: {out / 'results.json'}; report: {out / 'report.html'} (and report.md)")
