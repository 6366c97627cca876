"""Built-in demo data that needs no internet: it is read from the `chatterbot-corpus` package.

`demo` is topic classification: each distinct question of the English corpus, labelled by
the topic file it sits in (`ai`, `trivia`, `coding`, ...). Questions filed under several
topics and topics with fewer than `MIN_PER_TOPIC` distinct questions are left out, so
every label can be split and learned. `demo-qa` is the same questions with their first
answer, as question/answer pairs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.data.raw import RawTable
from tunewise.errors import DataError

PACKAGE = "chatterbot-corpus"
MIN_PER_TOPIC = 8
# Built-in documents with questions (`--docs NAME`): the files of each, in the package.
DOCUMENT_SETS = {
    "foldoc": "computing terms from the Free On-line Dictionary of Computing, with questions on their abbreviations",
}
DEMO_DATASETS = {
    "demo": "topic classification of 700+ chat questions (chatterbot-corpus)",
    "demo-qa": "question/answer pairs from the same corpus",
}


def corpus_dir() -> Path:
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the demo data ships in the PyPI package {PACKAGE}; install it with: pip install {PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "english"


def conversations() -> list[tuple[str, str, str, Path]]:
    """(topic, question, first answer, file) for every two-or-more-turn conversation."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    pairs: list[tuple[str, str, str, Path]] = []
    for path in sorted(corpus_dir().glob("*.yml")):
        document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        for turns in document.get("conversations") or []:
            if isinstance(turns, list) and len(turns) >= 2 and all(isinstance(t, str) for t in turns[:2]):
                pairs.append((path.stem, turns[0].strip(), turns[1].strip(), path))
    return pairs


def is_demo(path: str) -> bool:
    """Whether `path` names a built-in data set: a demo name that is not also a file or folder here."""
    return path in DEMO_DATASETS and not Path(path).exists()


def load_demo(name: str) -> RawTable:
    """The built-in data set `name` (see `DEMO_DATASETS`) as rows."""
    if name not in DEMO_DATASETS:
        raise DataError(f"unknown demo data set '{name}'; choose one of {', '.join(DEMO_DATASETS)}")
    pairs = conversations()
    topics_of: dict[str, set[str]] = defaultdict(set)
    for topic, question, _, _ in pairs:
        topics_of[question].add(topic)
    seen: set[str] = set()
    kept: list[tuple[str, str, str, Path]] = []
    for pair in pairs:
        question = pair[1]
        if len(topics_of[question]) == 1 and question not in seen:
            seen.add(question)
            kept.append(pair)
    sizes = Counter(topic for topic, _, _, _ in kept)
    kept = [p for p in kept if sizes[p[0]] >= MIN_PER_TOPIC]
    version = importlib.metadata.version(PACKAGE)
    source = f"{name} ({PACKAGE} {version})"
    if name == "demo":
        rows: list[dict[str, Any]] = [{"text": q, "label": t} for t, q, _, _ in kept]
        columns = ["text", "label"]
    else:
        rows = [{"question": q, "answer": a, "topic": t} for t, q, a, _ in kept]
        columns = ["question", "answer", "topic"]
    return RawTable(source, columns, rows, list(range(1, len(rows) + 1)), "record", [str(p[3]) for p in kept])


@dataclass(frozen=True)
class DocumentSet:
    """A built-in documents set: the documents, questions to train on and to test with, and the
    documents that arrive later with the questions only they answer."""

    docs: str
    train: str
    test: str
    new_docs: str
    new_test: str


def is_document_set(name: str | None) -> bool:
    return name is not None and name in DOCUMENT_SETS and not Path(name).exists()


def document_set(name: str) -> DocumentSet:
    """The files of the built-in documents set `name` (see `DOCUMENT_SETS` and its README)."""
    if name not in DOCUMENT_SETS:
        raise DataError(f"unknown built-in documents set '{name}'; choose one of {', '.join(DOCUMENT_SETS)}")
    folder = Path(__file__).parent / name
    files = {part: folder / f"{part}.jsonl" for part in ("documents", "train", "test", "new-documents", "new-test")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise DataError(f"{missing[0]}: the built-in documents set is incomplete; reinstall tunewise")
    return DocumentSet(*(str(path) for path in files.values()))
