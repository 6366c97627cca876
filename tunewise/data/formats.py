"""Read the user's file or folder into rows, remembering where each row came from.

Plain-text formats (CSV, TSV, JSON, JSONL) are parsed with the standard library: it is
faster to start than pandas or `datasets`, and it lets every error name its line. Parquet
goes through pyarrow and `save_to_disk` folders through `datasets`, both imported only
when such a file shows up.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from tunewise.data.raw import RawTable, read_text, unreadable
from tunewise.data.trec import read_trec_documents
from tunewise.errors import DataError, shorten

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
DOCUMENT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
FILE_SUFFIXES = {*TEXT_SUFFIXES, *JSON_SUFFIXES, *DOCUMENT_SUFFIXES, ".parquet", ".trec"}
SUPPORTED = "CSV, TSV, JSON, JSONL, Parquet, TREC documents, a `datasets` save_to_disk folder, or a folder of .txt/.md documents"


def read_table(path: Path) -> RawTable:
    """Read any supported file or folder; raise `DataError` naming the place of any problem."""
    source = str(path)
    _check_readable_path(path)
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
        return read_trec_documents(path)
    if suffix in DOCUMENT_SUFFIXES:
        text = read_text(path)
        return RawTable(source, ["id", "text"], [{"id": path.name, "text": text}], [1], "file", [source])
    raise DataError(f"{source}: unknown format '{suffix or 'no extension'}'; use {SUPPORTED}")


def _check_readable_path(path: Path) -> None:
    """Refuse, with the reason, a path that names nothing readable: missing, a broken link, a pipe."""
    source = str(path)
    try:
        exists = path.exists()
    except OSError as exc:  # e.g. a parent folder that may not be searched
        raise DataError(
            f"{source}: cannot look at this path ({exc.strerror}); check the path and its permissions"
        ) from exc
    if not exists and path.is_symlink():
        raise DataError(
            f"{source}: a link to {_link_target(path)}, which does not exist; fix the link or give the file itself"
        )
    if not exists:
        raise DataError(f"{source}: no such file or folder; check the path")
    if not path.is_dir() and not path.is_file():
        raise DataError(
            f"{source}: not a regular file (a pipe, socket or device); save the data to a file and give its path"
        )


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "a missing path"


# ---------------------------------------------------------------------------- CSV / TSV


def _read_delimited(path: Path, delimiter: str) -> RawTable:
    text = read_text(path)
    # The csv module refuses fields over 128 KiB by default; a long document is a legitimate
    # field, and no field can be longer than the file.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return _parse_delimited(text, str(path), delimiter)
    finally:
        csv.field_size_limit(limit)


def _parse_delimited(text: str, source: str, delimiter: str) -> RawTable:
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
            raise DataError(f"{source}:1: column '{shorten(name)}' appears twice in the header; rename one of them")
        seen.add(name)


# ---------------------------------------------------------------------------- JSON / JSONL


def _read_json(path: Path, *, lines_only: bool) -> RawTable:
    source = str(path)
    text = read_text(path)
    if not lines_only:
        stripped = text.lstrip()
        if stripped.startswith("["):
            return _json_array(text, source)
        if stripped.startswith("{"):
            try:
                document = _parse_json(text, source)
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


def _parse_json(text: str, source: str, line: int | None = None) -> Any:
    """`json.loads`, with the two failures that are not `JSONDecodeError` turned into `DataError`s.

    `line` is where `text` starts in the file (JSON Lines); None when `text` is the whole file.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise  # the callers name the line, or read the file as JSON Lines
    except RecursionError as exc:  # the decoder recurses once per level of [ or {
        raise _too_deep(text, source, line) from exc
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise _too_long_number(text, source, line, exc) from exc


def _position(text: str, offset: int, line: int | None) -> tuple[int, int]:
    """(line, column) of `offset` in `text`, counting lines from `line` when `text` is one line of a file."""
    number = (line or 1) + text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return number, column


def _too_deep(text: str, source: str, line: int | None) -> DataError:
    depth, offset = _deepest(text)
    number, column = _position(text, offset, line)
    return DataError(
        f"{source}:{number}: JSON nested {depth:,} levels deep (the deepest at column {column}), more than Python "
        "can read; give each example as one flat object of fields"
    )


def _deepest(text: str) -> tuple[int, int]:
    """The deepest nesting of [ and { outside strings, and the offset where it is first reached."""
    depth = deepest = offset = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, offset = depth, index
        elif char in "]}":
            depth -= 1
    return deepest, offset


def _too_long_number(text: str, source: str, line: int | None, exc: ValueError) -> DataError:
    limit = sys.get_int_max_str_digits()
    # A whole number (no fraction or exponent, which make it a float): only those are limited.
    match = re.search(rf"(?<![\d.])\d{{{limit + 1},}}+(?![.eE])", text) if limit else None
    if match is None:
        return DataError(f"{source}{f':{line}' if line else ''}: unreadable JSON ({shorten(exc)}); fix the file")
    number, column = _position(text, match.start(), line)
    return DataError(
        f"{source}:{number}: a whole number of {len(match.group()):,} digits at column {column}, more than Python "
        f"reads ({limit:,}); write it as a string in quotes if it is a label or an id"
    )


def _json_lines(text: str, source: str) -> RawTable:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = _parse_json(raw, source, number)
        except json.JSONDecodeError as exc:
            raise _json_error(source, exc, number) from exc
        if not isinstance(value, dict):
            raise DataError(f"{source}:{number}: expected a JSON object per line, found {type(value).__name__}")
        rows.append(value)
        lines.append(number)
    return RawTable(source, _union_columns(rows), rows, lines, "line")


def _json_array(text: str, source: str) -> RawTable:
    try:
        document = _parse_json(text, source)
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
        with path.open("rb"):  # a permission problem is not a damaged file: say which it is
            pass
    except OSError as exc:
        raise unreadable(path, exc) from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{source}: not a readable Parquet file ({shorten(exc, 300)}); re-export it") from exc
    rows = table.to_pylist()
    return RawTable(source, list(table.column_names), rows, list(range(1, len(rows) + 1)), "row")


def _read_folder(path: Path) -> RawTable:
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return _read_saved_dataset(path)
    documents = _documents_in(path)
    if not documents:
        # A folder named like a file is usually a path mix-up: say so rather than only list formats.
        named = f" (a folder named like a {path.suffix} file: give the file itself)" if _file_like(path) else ""
        raise DataError(
            f"{path}: the folder holds no .txt or .md documents and is not a `datasets` save_to_disk folder{named}; "
            f"use {SUPPORTED}"
        )
    rows: list[dict[str, Any]] = []
    sources: list[str] = []
    for doc in documents:
        text = read_text(doc)
        rows.append({"id": str(doc.relative_to(path)), "text": text})
        sources.append(str(doc))
    return RawTable(str(path), ["id", "text"], rows, list(range(1, len(rows) + 1)), "file", sources)


def _file_like(path: Path) -> bool:
    return path.suffix.lower() in FILE_SUFFIXES


def _documents_in(folder: Path) -> list[Path]:
    """The .txt/.md documents under `folder`, sorted; an unlistable folder or a broken link is an error.

    Skipping either silently would leave documents out of the knowledge base without a word.
    """

    def refuse(exc: OSError) -> None:
        raise DataError(
            f"{exc.filename or folder}: cannot list this folder ({exc.strerror}); make it readable (chmod u+rx) "
            "or move the documents out of it"
        )

    found: list[Path] = []
    for root, _, names in os.walk(folder, onerror=refuse):
        for name in names:
            candidate = Path(root, name)
            if candidate.suffix.lower() not in DOCUMENT_SUFFIXES:
                continue
            if candidate.is_file():
                found.append(candidate)
            elif candidate.is_symlink() and not candidate.exists():
                raise DataError(
                    f"{candidate}: a link to {_link_target(candidate)}, which does not exist; fix or remove the link"
                )
    return sorted(found)


def _read_saved_dataset(path: Path) -> RawTable:
    import datasets

    source = str(path)
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # a damaged folder can fail in many ways inside `datasets`
        raise DataError(f"{source}: cannot read this save_to_disk folder ({shorten(exc, 300)}); save it again") from exc
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
