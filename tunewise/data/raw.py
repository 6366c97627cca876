"""Files as tunewise first sees them: bytes decoded to text, and rows before they mean anything.

Below every reader (delimited, JSON, TREC, documents), so that each of them reports a file it
cannot read, or text in the wrong encoding, in the same words.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.errors import DataError, where

UTF16_SAMPLE = 4096  # bytes looked at to recognise UTF-16 saved without a byte-order mark


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


def read_bytes(path: Path) -> bytes:
    """The bytes of a file; a `DataError` naming the file and the system's reason when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from exc


def unreadable(path: Path, exc: OSError) -> DataError:
    """The error for a file the system refused to read, with its reason and what to do."""
    if isinstance(exc, PermissionError):
        return DataError(
            f"{path}: cannot read the file (permission denied); make it readable (chmod u+r) or copy it where you can"
        )
    if isinstance(exc, FileNotFoundError):
        return DataError(f"{path}: no such file; check the path (run `ls {path.parent}` to see what is there)")
    if isinstance(exc, IsADirectoryError):
        return DataError(f"{path}: is a folder, not a file; give the path of a file inside it")
    if isinstance(exc, NotADirectoryError):
        return DataError(f"{path}: a part of the path is a file, not a folder; check the path")
    return DataError(
        f"{path}: cannot read the file ({exc.strerror or exc}); check the disk, or copy the file and give the copy"
    )


def read_text(path: Path) -> str:
    """Read and decode a text file; every failure is a `DataError` naming the file."""
    return decode_text(read_bytes(path), str(path))


def decode_text(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without a BOM) or BOM-marked UTF-16; name the line of bad bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{source}: invalid UTF-16 at byte {exc.start}; re-save the file as UTF-8") from exc
    _refuse_nul_bytes(data, source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{source}:{line}: byte 0x{bad} at column {column} is not UTF-8; re-save the file as UTF-8"
        ) from exc


def _refuse_nul_bytes(data: bytes, source: str) -> None:
    """Text never holds NUL bytes: they mean UTF-16 saved without a byte-order mark, or binary data.

    Without this check UTF-16 text of ASCII characters decodes as "UTF-8" with a NUL between
    letters, and the user is told about field counts instead of the encoding.
    """
    first = data.find(b"\x00")
    if first < 0:
        return
    encoding = _utf16_without_bom(data[:UTF16_SAMPLE])
    if encoding is not None:
        raise DataError(
            f"{source}: the file is {encoding} text without a byte-order mark (a NUL byte every other byte); "
            "re-save it as UTF-8"
        )
    line = data.count(b"\n", 0, first) + 1
    column = first - (data.rfind(b"\n", 0, first) + 1) + 1
    raise DataError(
        f"{source}:{line}: NUL byte at column {column}: this is binary data, not text; export the data as UTF-8 text"
    )


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16-LE or -BE when mostly ASCII text puts a NUL in every other byte, else None."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    # Each ASCII character is its byte plus a NUL; allow some non-ASCII (whose high byte is not NUL).
    if odd.count(0) >= 0.5 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "UTF-16-LE"
    if even.count(0) >= 0.5 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "UTF-16-BE"
    return None
