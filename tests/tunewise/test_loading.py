"""Every supported format and shape loads into the same canonical records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.data.formats import read_table
from tunewise.data.shapes import Shape, parse_column_map, to_dataset
from tunewise.data.task import DataSpec, load_task_data
from tunewise.errors import DataError

LABELLED_ROWS = [{"text": f"example number {i}", "label": "pos" if i % 2 else "neg"} for i in range(10)]


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    columns = list(rows[0])
    lines = [delimiter.join(columns)] + [delimiter.join(str(r[c]) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, writer",
    [
        ("data.csv", lambda p: write_csv(p, LABELLED_ROWS)),
        ("data.tsv", lambda p: write_csv(p, LABELLED_ROWS, "\t")),
        ("data.jsonl", lambda p: write_jsonl(p, LABELLED_ROWS)),
        ("data.json", lambda p: p.write_text(json.dumps(LABELLED_ROWS), encoding="utf-8")),
        ("wrapped.json", lambda p: p.write_text(json.dumps({"data": LABELLED_ROWS}), encoding="utf-8")),
        ("lines.json", lambda p: write_jsonl(p, LABELLED_ROWS)),
    ],
)
def test_text_formats_give_the_same_records(tmp_path: Path, name: str, writer: object) -> None:
    path = tmp_path / name
    writer(path)  # type: ignore[operator]
    dataset = to_dataset(read_table(path))
    assert dataset.shape is Shape.LABELLED
    assert dataset.records == LABELLED_ROWS


def test_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(LABELLED_ROWS), path)
    assert to_dataset(read_table(path)).records == LABELLED_ROWS


def test_saved_dataset_dict_uses_class_names_and_its_validation_split(tmp_path: Path) -> None:
    import datasets

    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    train = datasets.Dataset.from_dict(
        {"sentence": [f"train {i}" for i in range(8)], "label": [i % 2 for i in range(8)]}, features=features
    )
    validation = datasets.Dataset.from_dict({"sentence": ["val a", "val b"], "label": [0, 1]}, features=features)
    datasets.DatasetDict({"train": train, "validation": validation}).save_to_disk(str(tmp_path / "saved"))

    data = load_task_data(DataSpec(path=str(tmp_path / "saved")))
    assert data.task == "classification"
    assert data.eval_origin == "split:validation"
    assert data.train.labels() == ["neg", "pos"] * 4
    assert [r["text"] for r in data.eval.records] == ["val a", "val b"]


def test_document_folder(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.txt").write_text("First document.", encoding="utf-8")
    (tmp_path / "docs" / "sub" / "b.md").write_text("# Second\nwith text", encoding="utf-8")
    (tmp_path / "docs" / "ignored.bin").write_bytes(b"\x00\x01")
    data = load_task_data(DataSpec(path=str(tmp_path / "docs")))
    assert data.dataset.shape is Shape.DOCUMENTS
    assert data.task == "qa"
    assert [r["id"] for r in data.dataset.records] == ["a.txt", "sub/b.md"]
    assert len(data.eval) == 0


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.tsv"
    path.write_bytes("text\tlabel\ncafé\ta\nthé\tb\n".encode("utf-16"))
    assert to_dataset(read_table(path)).records == [{"text": "café", "label": "a"}, {"text": "thé", "label": "b"}]


def test_csv_line_numbers_count_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('text,label\n"two\nlines",a\nplain,b\n', encoding="utf-8")
    table = read_table(path)
    assert table.lines == [2, 4]
    assert table.where(1) == f"{path}:4"


@pytest.mark.parametrize(
    "rows, shape, expected",
    [
        ([{"utterance": "hi", "intent": "greet"}], Shape.LABELLED, {"text": "hi", "label": "greet"}),
        ([{"text": "hi", "category": "greet"}], Shape.LABELLED, {"text": "hi", "label": "greet"}),
        (
            [{"prompt": "Translate: Hello", "completion": "Bonjour"}],
            Shape.PROMPT_COMPLETION,
            {"prompt": "Translate: Hello", "completion": "Bonjour"},
        ),
        (
            [{"instruction": "Translate", "input": "Hello", "output": "Bonjour"}],
            Shape.PROMPT_COMPLETION,
            {"prompt": "Translate\n\nHello", "completion": "Bonjour"},
        ),
        (
            [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}],
            Shape.CHAT,
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
        ),
        (
            [{"question": "Who?", "answer": "Me", "context": "It was me."}],
            Shape.QA,
            {"question": "Who?", "answer": "Me", "context": "It was me."},
        ),
        (
            [{"question": "Who?", "answers": ["Me", "I"]}],
            Shape.QA,
            {"question": "Who?", "answer": "Me", "answers": ["Me", "I"]},
        ),
        ([{"text": "Just a document."}], Shape.DOCUMENTS, {"text": "Just a document."}),
        ([{"text": "7", "label": 1}], Shape.LABELLED, {"text": "7", "label": "1"}),
    ],
)
def test_shapes_are_recognised(
    tmp_path: Path, rows: list[dict[str, object]], shape: Shape, expected: dict[str, object]
) -> None:
    dataset = to_dataset(read_table(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert dataset.shape is shape
    assert dataset.records[0] == expected


def test_columns_can_be_mapped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "odd.csv", [{"msg": "hello", "y": "a"}, {"msg": "bye", "y": "b"}])
    with pytest.raises(DataError, match="cannot tell what the columns mean"):
        to_dataset(read_table(path))
    dataset = to_dataset(read_table(path), parse_column_map("text=msg,label=y"))
    assert dataset.records == [{"text": "hello", "label": "a"}, {"text": "bye", "label": "b"}]


def test_empty_rows_are_left_out_and_reported(tmp_path: Path) -> None:
    rows = [*LABELLED_ROWS, {"text": "  ", "label": "pos"}, {"text": "no label", "label": ""}]
    data = load_task_data(DataSpec(path=str(write_csv(tmp_path / "d.csv", rows))))
    assert len(data.dataset) == len(LABELLED_ROWS)
    assert len(data.dataset.empty_rows) == 2
    assert any("2 empty rows" in w for w in data.warnings)


@pytest.mark.parametrize(
    "task, ok",
    [("classification", True), ("generation", False), ("qa", False)],
)
def test_task_override_must_fit_the_shape(tmp_path: Path, task: str, ok: bool) -> None:
    spec = DataSpec(path=str(write_csv(tmp_path / "d.csv", LABELLED_ROWS)), task=task)
    if ok:
        assert load_task_data(spec).task == task
    else:
        with pytest.raises(DataError, match=f"--task {task}"):
            load_task_data(spec)
