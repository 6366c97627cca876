"""From a path (or a demo name) to validated train and eval splits for one task."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tunewise.data.dedup import DuplicateReport, LeakageReport, find_duplicates, find_leakage
from tunewise.data.demo import is_demo, load_demo
from tunewise.data.formats import read_table
from tunewise.data.raw import RawTable
from tunewise.data.shapes import Dataset, Shape, target_text, to_dataset
from tunewise.data.split import DEFAULT_EVAL_FRACTION, DEFAULT_SEED, split_indices
from tunewise.errors import DataError, shorten
from tunewise.names import TASKS

DEFAULT_TASK: dict[Shape, str] = {
    Shape.LABELLED: "classification",
    Shape.PROMPT_COMPLETION: "generation",
    Shape.CHAT: "generation",
    Shape.QA: "qa",
    Shape.DOCUMENTS: "qa",
}
# Which shapes of data can feed each task.
COMPATIBLE: dict[str, set[Shape]] = {
    "classification": {Shape.LABELLED},
    "extraction": {Shape.PROMPT_COMPLETION, Shape.CHAT, Shape.QA},
    "generation": {Shape.PROMPT_COMPLETION, Shape.CHAT, Shape.QA},
    "style": {Shape.PROMPT_COMPLETION, Shape.CHAT},
    "qa": {Shape.QA, Shape.DOCUMENTS, Shape.PROMPT_COMPLETION, Shape.CHAT},
}
# Up to this many distinct numbers are read as categories (ratings 1-5, class ids 0-9); more than
# that, with fractions or nearly all different, are measurements.
MAX_NUMERIC_CLASSES = 10


@dataclass(frozen=True)
class DataSpec:
    """What the user said about their data; every field has a command-line flag."""

    path: str = "demo"  # a file, a folder, or the name of a built-in demo data set
    eval_path: str | None = None  # their own eval file; otherwise a split of `path`
    task: str | None = None  # None: decided by the shape of the data
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> column
    eval_fraction: float = DEFAULT_EVAL_FRACTION
    seed: int = DEFAULT_SEED


@dataclass
class TaskData:
    """The data, checked, split, and ready for either arm."""

    spec: DataSpec
    task: str
    dataset: Dataset  # everything in `spec.path`
    train: Dataset
    eval: Dataset
    eval_origin: str  # "split", "file" or "split:<name>" for a saved DatasetDict
    duplicates: DuplicateReport
    leakage: LeakageReport
    warnings: list[str] = field(default_factory=list)


def open_table(path: str) -> RawTable:
    """Read a path, or a built-in demo data set when no such path exists."""
    if is_demo(path):
        return load_demo(path)
    return read_table(Path(path).expanduser())


def load_task_data(spec: DataSpec) -> TaskData:
    """Read, normalise, validate and split; raise `DataError` on anything unusable."""
    if spec.task is not None and spec.task not in TASKS:
        raise DataError(f"--task: unknown task '{spec.task}'; choose one of {', '.join(TASKS)}")
    if not 0.0 < spec.eval_fraction < 1.0:
        raise DataError(f"--eval-fraction must be between 0 and 1 (exclusive), got {spec.eval_fraction}")
    table = open_table(spec.path)
    dataset = to_dataset(table, spec.columns)
    task = spec.task or DEFAULT_TASK[dataset.shape]
    _check_task(task, dataset)
    if task == "classification":
        _check_categorical(dataset)
    warnings: list[str] = []
    if dataset.empty_rows:
        first = table.where(dataset.empty_rows[0])
        warnings.append(f"{len(dataset.empty_rows)} empty rows left out (first at {first})")

    eval_table: RawTable | None = None
    eval_origin = "split"
    if spec.eval_path is not None:
        eval_table = open_table(spec.eval_path)
        eval_origin = "file"
    else:
        for name in ("validation", "test", "eval"):
            if name in table.extra_splits:
                eval_table, eval_origin = table.extra_splits[name], f"split:{name}"
                break

    if eval_table is not None:
        train = dataset
        evaluation = to_dataset(eval_table, spec.columns)
        if evaluation.shape is not dataset.shape:
            raise DataError(
                f"{evaluation.source}: eval data is {evaluation.shape.value} but {dataset.source} is "
                f"{dataset.shape.value}; give both files the same columns"
            )
    elif dataset.shape is Shape.DOCUMENTS:
        # A corpus has nothing to hold out: evaluation needs questions about it.
        train, evaluation = dataset, dataset.subset([])
    else:
        train_pos, eval_pos = split_indices(dataset.inputs(), dataset.labels(), spec.eval_fraction, spec.seed)
        if not eval_pos:
            raise _too_few_to_split(dataset)
        train, evaluation = dataset.subset(train_pos), dataset.subset(eval_pos)

    if task == "classification":
        _check_labels(dataset, train, evaluation)
    targets = dataset.labels()
    if targets is None and dataset.shape is not Shape.DOCUMENTS:
        targets = [target_text(dataset.shape, r) for r in dataset.records]
    duplicates = find_duplicates(dataset.inputs(), targets)
    # A test example leaks when a model that remembered train would get it right: for labels, the
    # same (or nearly the same) text; for answers, the same question *with its answer*. Templated
    # questions ("What does GS stand for?" / "What does GUI stand for?") are near in their words
    # and far in what they ask, so answers are compared with the question.
    if task == "classification":
        leakage = find_leakage(train.inputs(), evaluation.inputs())
    else:
        leakage = find_leakage(train.full_texts(), evaluation.full_texts())
    if leakage.total:
        warnings.append(
            f"{leakage.total} of {len(evaluation)} eval examples also occur in train "
            f"({leakage.exact} exact, {leakage.near} near): eval scores will be optimistic"
        )
    if leakage.cap_matters:
        warnings.append(f"{leakage.cap_note()}; near duplicates between train and eval may be undercounted")
    if duplicates.conflicts:
        warnings.append(
            f"{duplicates.conflicts} inputs occur with different {'labels' if task == 'classification' else 'targets'}"
        )
    return TaskData(spec, task, dataset, train, evaluation, eval_origin, duplicates, leakage, warnings)


def _check_task(task: str, dataset: Dataset) -> None:
    if dataset.shape in COMPATIBLE[task]:
        return
    if task == "classification":
        raise DataError(
            f"{dataset.source}: --task classification needs a text and a label column, but this data is "
            f"{dataset.shape.value}; map a label with --columns label=NAME or use --task {DEFAULT_TASK[dataset.shape]}"
        )
    raise DataError(
        f"{dataset.source}: --task {task} does not fit {dataset.shape.value} data; "
        f"use --task {DEFAULT_TASK[dataset.shape]} or give data with prompt/completion or messages"
    )


def _check_categorical(dataset: Dataset) -> None:
    """Refuse labels that are measurements: each would be a class of one example, and nothing could be split."""
    labels = dataset.labels() or []
    distinct = list(dict.fromkeys(labels))
    if len(distinct) <= MAX_NUMERIC_CLASSES:
        return
    numbers = [_number(label) for label in distinct]
    values = [n for n in numbers if n is not None]
    if len(values) < len(numbers):
        return  # some labels are words: categories
    if all(v.is_integer() for v in values) and len(distinct) < 0.9 * len(labels):
        return  # integer class ids that repeat: categories (counts or prices hardly ever repeat)
    column = dataset.columns.get("label", "label")
    shown = ", ".join(shorten(label, 20) for label in distinct[:3])
    raise DataError(
        f"{dataset.source}: column '{column}' holds {len(distinct):,} different numbers ({shown}, ... from "
        f"{min(values):g} to {max(values):g}): the labels look continuous, a regression target, and classification "
        "needs categories; bin the values into a few named classes (e.g. low, medium, high) or map a column of "
        "categories with --columns label=NAME"
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _too_few_to_split(dataset: Dataset) -> DataError:
    labels = dataset.labels()
    if labels is not None and len(dataset) > 1:
        # The split keeps every label in training, so it holds out nothing when no label has two examples.
        return DataError(
            f"{dataset.source}: no label has two different examples ({len(set(labels)):,} labels over "
            f"{len(dataset):,} examples), so none can be held out for eval without leaving it unseen in training; "
            "add several examples per label, or give your own eval file with --eval"
        )
    return DataError(
        f"{dataset.source}: too few examples ({len(dataset)}) to hold out an eval split; "
        "add examples or give your own eval file with --eval"
    )


def _check_labels(dataset: Dataset, train: Dataset, evaluation: Dataset) -> None:
    counts = Counter(dataset.labels() or [])
    column = dataset.columns.get("label", "label")
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise DataError(
            f"{dataset.source}: column '{column}' has a single class ('{shorten(only)}'); classification needs at least "
            "two: add examples of the other classes"
        )
    known = set(train.labels() or [])
    unseen: dict[str, int] = {}
    for position, label in enumerate(evaluation.labels() or []):
        if label not in known:
            unseen.setdefault(label, position)
    if unseen:
        shown = ", ".join(f"'{shorten(label)}' ({evaluation.where(pos)})" for label, pos in list(unseen.items())[:3])
        more = f" and {len(unseen) - 3} more" if len(unseen) > 3 else ""
        raise DataError(
            f"{evaluation.source}: {len(unseen)} eval label(s) never occur in training: {shown}{more}; "
            "remove them from eval or add training examples"
        )
