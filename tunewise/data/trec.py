"""TREC test collections: documents (<DOC><DOCNO>), topics (<top><num><title>) and qrels."""

from __future__ import annotations

import re
from pathlib import Path

from tunewise.data.raw import RawTable, read_text
from tunewise.errors import DataError

_DOC = re.compile(r"<DOC>(.*?)</DOC>", re.DOTALL | re.IGNORECASE)
_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.DOTALL | re.IGNORECASE)
_TOP = re.compile(r"<top>(.*?)</top>", re.DOTALL | re.IGNORECASE)
_NUM = re.compile(r"<num>\s*(?:Number:)?\s*([^<\s]+)", re.IGNORECASE)
_TITLE = re.compile(r"<title>\s*(.*?)\s*(?:</title>|<desc>|<narr>|$)", re.DOTALL | re.IGNORECASE)


def read_trec_documents(path: Path) -> RawTable:
    text = read_text(path)
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    for match in _DOC.finditer(text):
        body = match.group(1)
        docno = _DOCNO.search(body)
        line = text.count("\n", 0, match.start()) + 1
        if docno is None:
            raise DataError(f"{path}:{line}: a <DOC> without <DOCNO>; give every document an id")
        rows.append({"id": docno.group(1), "text": " ".join(_DOCNO.sub(" ", body).split())})
        lines.append(line)
    if not rows:
        raise DataError(f"{path}: no <DOC>...</DOC> documents found; is this a TREC document file?")
    return RawTable(str(path), ["id", "text"], rows, lines, "line")


def read_trec_topics(path: Path) -> list[tuple[str, str]]:
    """(query id, query text) for each <top> block."""
    text = read_text(path)
    topics: list[tuple[str, str]] = []
    for match in _TOP.finditer(text):
        num, title = _NUM.search(match.group(1)), _TITLE.search(match.group(1))
        line = text.count("\n", 0, match.start()) + 1
        if num is None or title is None:
            raise DataError(f"{path}:{line}: a <top> needs <num> and <title>")
        topics.append((num.group(1), " ".join(title.group(1).split())))
    if not topics:
        raise DataError(f"{path}: no <top> topics found; is this a TREC topics file?")
    return topics


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """query id -> {document id: relevance grade}, from `qid iteration docid grade` lines."""
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    judgments: dict[str, dict[str, float]] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise DataError(f"{path}:{number}: expected 'query iteration document grade', found {len(parts)} fields")
        try:
            grade = float(parts[3])
        except ValueError as exc:
            raise DataError(f"{path}:{number}: grade '{parts[3]}' is not a number") from exc
        judgments.setdefault(parts[0], {})[parts[2]] = grade
    return judgments
