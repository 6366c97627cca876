"""`tunewise recommend`: prompting, RAG or fine-tuning, ranked, explained and costed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.commands.answer_flags import add_answer_arguments, answers_from_flags
from tui.commands.lm_flags import add_lm_arguments, served_from

if TYPE_CHECKING:
    from compare.advise import Advice
    from hosted.served_arms import Served
    from tunewise.data.shapes import Dataset
    from tunewise.data.task import TaskData


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="rank prompting, RAG, full fine-tuning, LoRA and QLoRA for your case, with reasons and costs",
        description=(
            "Rank prompting, RAG, full fine-tuning, LoRA, QLoRA and RAG + LoRA for your answers, with the reasons, "
            "their sources, and memory, time and cost estimates. Later sources win: defaults, this machine's hardware, "
            "--from-data, --answers, then flags."
        ),
    )
    parser.add_argument("--answers", type=Path, metavar="FILE", help="a YAML file of answers (see --save-answers)")
    parser.add_argument("--from-data", metavar="DATA", help="fill task, sizes and token lengths from your data")
    parser.add_argument(
        "--eval",
        dest="eval_path",
        metavar="TEST",
        help="with --from-data: the test set a comparison will score on (default: a split of DATA); never probed",
    )
    parser.add_argument(
        "--columns", metavar="MAP", help="column mapping for --from-data, e.g. text=utterance,label=intent"
    )
    parser.add_argument(
        "--docs",
        metavar="FOLDER",
        help="with --from-data QUESTIONS: the documents the answers draw on; counted, and measured by the probe "
        "(does retrieval find the answers, does the model read them off the passages, what indexing costs)",
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="with --from-data, advise from the answers alone: skip the minute-long measurement of the data",
    )
    parser.add_argument(
        "--fresh-probe", action="store_true", help="measure the data again even when a probe of it is cached"
    )
    parser.add_argument(
        "--detect-hardware",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="advise for this machine's GPUs, RAM and cores (the default, as compare and the app do); to plan for "
        "other hardware, declare it (--gpu-memory-gb 80 --gpu-count 1, or an answers file), or pass "
        "--no-detect-hardware for the defaults (1 x 24 GB GPU)",
    )
    add_lm_arguments(
        parser,
        "with --from-data, the model you would prompt, asked about a few training examples (at most "
        "20 calls) so that prompting is ranked by its measured quality and price: a local one is measured by the probe",
    )
    parser.add_argument("--save-answers", type=Path, metavar="FILE", help="write the resolved answers to FILE (YAML)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    add_answer_arguments(parser)
    parser.set_defaults(run=run)


def read_data(args: argparse.Namespace, flags: dict[str, Any]) -> TaskData | None:
    """The data `--from-data` names (with `--eval` and `--columns`), or None."""
    if not args.from_data:
        return None
    from tunewise.data.shapes import parse_column_map
    from tunewise.data.task import DataSpec, load_task_data

    spec = DataSpec(
        path=args.from_data, eval_path=args.eval_path, task=flags.get("task"), columns=parse_column_map(args.columns)
    )
    return load_task_data(spec)


def advise_with_status(
    args: argparse.Namespace,
    flags: dict[str, Any],
    data: TaskData | None,
    served: Served | None = None,
    documents: Dataset | None = None,
) -> Advice:
    """The advice (`compare.advise`), with what it is doing on stderr while the data is read and probed."""
    import contextlib

    from rich.console import Console

    from compare.advise import advise

    console = Console(stderr=True, quiet=args.json)
    shown = console.status("reading the data") if data is not None else contextlib.nullcontext()
    with shown as status:

        def progress(stage: str, done: float) -> None:
            if status is not None:
                status.update(f"probing the data: {stage} ({done:.0%})")

        return advise(
            data,
            model=flags.get("base_model"),
            detect_hardware=args.detect_hardware,
            answers_file=args.answers,
            flags=flags,
            probe=not args.no_probe,
            fresh_probe=args.fresh_probe,
            progress=progress,
            served=served,
            documents=documents,
        )


def run(args: argparse.Namespace) -> int:
    from advisor.answers import answer_warnings, check_destination, hardware_source, read_answers_file, save_answers
    from tunewise.errors import ConfigError

    if args.save_answers:
        check_destination(args.save_answers, "--save-answers")  # before --from-data reads anything
    if args.eval_path and not args.from_data:
        raise ConfigError("--eval names the test set of --from-data DATA; give --from-data too")
    flags = answers_from_flags(args)  # parsed first: a bad flag fails before any data is read
    if args.lm and not args.from_data:
        raise ConfigError("--lm asks the model you would prompt about your examples; give --from-data DATA too")
    served = served_from(args)  # before the data is read: one line for a wrong server, key or model
    if args.docs and not args.from_data:
        raise ConfigError("--docs names the documents the questions of --from-data QUESTIONS draw on; give both")
    data = read_data(args, flags)
    documents = None
    if args.docs and data is not None:
        from tunewise.data.documents import check_questions, load_documents

        check_questions(data.train, "--from-data")
        documents = load_documents(args.docs)
    advice = advise_with_status(args, flags, data, served, documents)
    answers, result = advice.answers, advice.recommendation
    if data is not None and not args.no_probe and advice.probe is None:
        from tunewise.data.shapes import Shape
        from tunewise.probes import MIN_PROBED

        what = (
            "documents without labels or answers"
            if data.train.shape is Shape.DOCUMENTS
            else f"{len(data.train):,} training examples (fewer than {MIN_PROBED})"
        )
        print(f"note: {what}: nothing a probe can measure, so the advice rests on the answers", file=sys.stderr)
    declared = set(flags) | (set(read_answers_file(args.answers)) if args.answers else set())
    source = hardware_source(args.detect_hardware, declared)
    if args.save_answers:
        save_answers(answers, args.save_answers)
    for warning in [*(data.warnings if data is not None else []), *answer_warnings(answers)]:
        print(f"warning: {warning}", file=sys.stderr)
    report = result.to_dict() | {"hardware_source": source}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        render(report)
    return 0


def render(report: dict[str, Any], detailed: int = 3) -> None:
    import yaml
    from rich.console import Console
    from rich.table import Table

    from advisor.estimate import time_said
    from tunewise.units import human_money

    console = Console()
    model = report["model"]
    console.print(
        f"[bold]Recommended: {report['recommended']}[/]   model {model['name']} ({model['params'] / 1e6:,.1f}M parameters), "
        f"hardware {report['hardware']}" + (f" ({report['hardware_source']})" if report.get("hardware_source") else "")
    )
    if report.get("probe"):
        render_probe(console, report["probe"])
    measured = any(row.get("expected") for row in report["ranking"])
    ranking = Table(title="ranking", title_justify="left")
    columns = ("#", "method", "score", *(("expected",) if measured else ()), "memory", "time", "cost")
    for column in columns:
        ranking.add_column(column, justify="right" if column not in ("method",) else "left", no_wrap=True)
    ranking.add_column("blocked by", overflow="fold")
    for rank, row in enumerate(report["ranking"], start=1):
        est = row["estimate"]
        blocked = "; ".join(c["text"] for c in row["constraints"])
        style = "" if row["feasible"] else "dim"
        expected = row.get("expected")
        shown = f"{expected['mid']:.2f} ({expected['low']:.2f}-{expected['high']:.2f})" if expected else "-"
        ranking.add_row(
            str(rank), row["method"], f"{row['score']:.0f}", *((shown,) if measured else ()),
            f"{est['memory_gb']:.1f} GB", time_said(est), human_money(est["cost_usd"]), blocked,
            style=style,
        )  # fmt: skip
    console.print(ranking)
    for row in report["ranking"][:detailed]:
        console.print(f"\n[bold]{row['method']}[/] (score {row['score']:.0f})")
        for reason in row["reasons"]:
            sign = "[green]+[/]" if reason["points"] > 0 else "[red]-[/]"
            console.print(
                f"  {sign}{abs(reason['points']):g} {reason['criterion']}: {reason['text']} [dim]({reason['source']})[/]"
            )
        for constraint in row["constraints"]:
            console.print(
                f"  [red]x[/] {constraint['criterion']}: {constraint['text']} [dim]({constraint['source']})[/]"
            )
    table = Table(title="\nFine-Tuning vs Prompting, for your case (guide §2)", title_justify="left")
    for column in ("feature", "prompting", "fine-tuning"):
        table.add_column(column, overflow="fold")
    for row in report["fine_tuning_vs_prompting"]:
        table.add_row(row["feature"], row["prompting"], row["fine_tuning"])
    console.print(table)
    if report.get("hosted_fine_tuning"):
        from hosted.estimate import describe

        console.print(f"elsewhere: {describe(report['hosted_fine_tuning'])}", markup=False, highlight=False)
    step = report["next_step"]
    console.print(f"\n[bold]Next step ({step['method']})[/]")
    if "config" in step:
        console.print(f"  write {step['config_file']}:")
        console.print(yaml.safe_dump(step["config"], sort_keys=False).rstrip(), markup=False, highlight=False)
    for command in step["commands"]:
        console.print(f"  $ {command}", markup=False, highlight=False)
    for note in report["notes"]:
        console.print(f"[yellow]note:[/] {note}")


def render_probe(console: Any, probe: dict[str, Any]) -> None:
    from tunewise.probes import probe_lines

    console.print("[bold]Probe[/]")
    for line in probe_lines(probe):
        console.print(f"  {line}", markup=False, highlight=False)
