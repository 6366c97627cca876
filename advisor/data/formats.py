"""Read the user's file or folder into rows, remembering where each row came from.

Plain-text formats (CSV, TSV, JSON, JSONL) are parsed with the standard library: it is
faster to start than pandas or `datasets`, and it lets every error name its line. Parquet
goes through pyarrow and `save_to_disk` folders through `datasets`, both imported only
when such a file shows up.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import DataError, where

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
DOCUMENT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
SUPPORTED = "CSV, TSV, JSON, JSONL, Parquet, TREC documents, a `datasets` save_to_disk folder, or a folder of .txt/.md documents"


@dataclass
class RawTable:
    """Rows as read, before tunewise decides what they mean."""

    source: str
    columns: list[str]
    rows: list[dict[str, Any]]
    lines: list[int]  # per row: its line in the file, or its 1-based row/record number
    unit: str = "line"  # what `lines` counts: "line", "row", "record" or "file"
    row_sources: list[str] | None = None  # per row, for documents: the file it came from
    class_names: dict[str, list[str]] = field(default_factory=dict)  # int label column -> names
    extra_splits: dict[str, RawTable] = field(default_factory=dict)

    def where(self, index: int) -> str:
        """Where row `index` came from, for error messages."""
        if self.row_sources is not None:
            return self.row_sources[index]
        return where(self.source, self.lines[index], self.unit)


def read_table(path: Path) -> RawTable:
    """Read any supported file or folder; raise `DataError` naming the place of any problem."""
    source = str(path)
    if not path.exists():
        raise DataError(f"{source}: no such file or folder; check the path")
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _read_delimited(path, TEXT_SUFFIXES[suffix])
    if suffix in JSON_SUFFIXES:
        return _read_json(path, lines_only=suffix != ".json")
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix == ".trec":
        from advisor.data.trec import read_trec_documents

        return read_trec_documents(path)
    if suffix in DOCUMENT_SUFFIXES:
        text = decode_text(path.read_bytes(), source)
        return RawTable(source, ["id", "text"], [{"id": path.name, "text": text}], [1], "file", [source])
    raise DataError(f"{source}: unknown format '{suffix or 'no extension'}'; use {SUPPORTED}")


# ---------------------------------------------------------------------------- decoding


def decode_text(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without a BOM) or BOM-marked UTF-16; name the line of bad bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{source}: invalid UTF-16 at byte {exc.start}; re-save the file as UTF-8") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{source}:{line}: byte 0x{bad} at column {column} is not UTF-8; re-save the file as UTF-8"
        ) from exc


# ---------------------------------------------------------------------------- CSV / TSV


def _read_delimited(path: Path, delimiter: str) -> RawTable:
    source = str(path)
    text = decode_text(path.read_bytes(), source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise DataError(f"{source}: the file is empty or has no header row; the first line must name the columns")
        columns = [h.strip() for h in header]
        _check_header(columns, source)
        rows: list[dict[str, Any]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for fields in reader:
            line = start
            start = reader.line_num + 1
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            if len(fields) != len(columns):
                raise DataError(
                    f"{source}:{line}: {len(fields)} fields where the header has {len(columns)}; "
                    "quote fields that contain the delimiter or a line break"
                )
            rows.append(dict(zip(columns, fields, strict=True)))
            lines.append(line)
    except csv.Error as exc:
        raise DataError(
            f"{source}:{reader.line_num}: malformed {_kind(delimiter)} ({exc}); fix the quoting on that line"
        ) from exc
    return RawTable(source, columns, rows, lines, "line")


def _kind(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _check_header(columns: list[str], source: str) -> None:
    seen: set[str] = set()
    for position, name in enumerate(columns, start=1):
        if not name:
            raise DataError(f"{source}:1: column {position} has no name; name every column in the header")
        if name in seen:
            raise DataError(f"{source}:1: column '{name}' appears twice in the header; rename one of them")
        seen.add(name)


# ---------------------------------------------------------------------------- JSON / JSONL


def _read_json(path: Path, *, lines_only: bool) -> RawTable:
    source = str(path)
    text = decode_text(path.read_bytes(), source)
    if not lines_only:
        stripped = text.lstrip()
        if stripped.startswith("["):
            return _json_array(text, source)
        if stripped.startswith("{"):
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                if exc.msg == "Extra data":  # one object per line: JSON Lines named .json
                    return _json_lines(text, source)
                raise _json_error(source, exc) from exc
            return _json_object(document, source)
        if not stripped:
            raise DataError(f"{source}: the file is empty; it needs at least one example")
        raise DataError(f"{source}:1: expected a JSON array or object; fix the file or save it as JSONL")
    return _json_lines(text, source)


def _json_error(source: str, exc: json.JSONDecodeError, line: int | None = None) -> DataError:
    return DataError(
        f"{source}:{line or exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno}); fix or remove that line"
    )


def _json_lines(text: str, source: str) -> RawTable:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    decoder = json.JSONDecoder()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = decoder.decode(raw)
        except json.JSONDecodeError as exc:
            raise _json_error(source, exc, number) from exc
        if not isinstance(value, dict):
            raise DataError(f"{source}:{number}: expected a JSON object per line, found {type(value).__name__}")
        rows.append(value)
        lines.append(number)
    return RawTable(source, _union_columns(rows), rows, lines, "line")


def _json_array(text: str, source: str) -> RawTable:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(source, exc) from exc
    return _records(document, source)


def _json_object(document: dict[str, Any], source: str) -> RawTable:
    # Accept {"data": [...]} style wrappers when exactly one key holds the records.
    lists = [value for value in document.values() if isinstance(value, list)]
    if len(lists) == 1 and all(isinstance(item, dict) for item in lists[0]):
        return _records(lists[0], source)
    return _records([document], source)


def _records(document: Any, source: str) -> RawTable:
    if not isinstance(document, list):
        raise DataError(f"{source}: expected a list of objects; save one example per object")
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise DataError(f"{source} record {index}: expected an object, found {type(item).__name__}")
    return RawTable(source, _union_columns(document), document, list(range(1, len(document) + 1)), "record")


def _union_columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


# ---------------------------------------------------------------------------- Parquet and datasets folders


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    source = str(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{source}: not a readable Parquet file ({exc}); re-export it") from exc
    rows = table.to_pylist()
    return RawTable(source, list(table.column_names), rows, list(range(1, len(rows) + 1)), "row")


def _read_folder(path: Path) -> RawTable:
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return _read_saved_dataset(path)
    documents = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
    if not documents:
        raise DataError(
            f"{path}: the folder holds no .txt or .md documents and is not a `datasets` save_to_disk folder; "
            f"use {SUPPORTED}"
        )
    rows: list[dict[str, Any]] = []
    sources: list[str] = []
    for doc in documents:
        text = decode_text(doc.read_bytes(), str(doc))
        rows.append({"id": str(doc.relative_to(path)), "text": text})
        sources.append(str(doc))
    return RawTable(str(path), ["id", "text"], rows, list(range(1, len(rows) + 1)), "file", sources)


def _read_saved_dataset(path: Path) -> RawTable:
    import datasets

    source = str(path)
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # a damaged folder can fail in many ways inside `datasets`
        raise DataError(f"{source}: cannot read this save_to_disk folder ({exc}); save it again") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if not loaded:
            raise DataError(f"{source}: the DatasetDict has no splits")
        main = "train" if "train" in loaded else next(iter(loaded))
        table = _from_hf(loaded[main], f"{source}[{main}]")
        table.extra_splits = {
            name: _from_hf(split, f"{source}[{name}]") for name, split in loaded.items() if name != main
        }
        return table
    return _from_hf(loaded, source)


def _from_hf(dataset: Any, source: str) -> RawTable:
    import datasets

    class_names = {
        name: list(feature.names)
        for name, feature in dataset.features.items()
        if isinstance(feature, datasets.ClassLabel)
    }
    rows = dataset.to_list()
    return RawTable(source, list(dataset.column_names), rows, list(range(1, len(rows) + 1)), "row", None, class_names)
