"""Build the built-in documents set (`tunewise/data/foldoc/`) from Debian's `dict-foldoc` package.

    apt-get download dict-foldoc && dpkg-deb -x dict-foldoc_*.deb foldoc-deb
    python scripts/build_foldoc.py foldoc-deb/usr/share/dictd [--out tunewise/data/foldoc]

FOLDOC (the Free On-line Dictionary of Computing, GFDL 1.1 or later) writes an abbreviated term
as `<domain> (ABBR) definition...` under its full name. Each such entry whose abbreviation
matches the initials of its name and belongs to no other entry gives a question with a short,
checkable answer: "What does ADT stand for?" -> "abstract data type", answered in that entry
and nowhere else. The questions are about knowledge a model may or may not hold (CD, IT; LEAF,
GASP), and the abbreviations are the identifiers that dense retrieval tends to miss.

The set is split by document, with a fixed seed:
    documents.jsonl      the old knowledge: the questioned entries and entries asked about by none
    train.jsonl          questions on part of the old entries, with answers (to fine-tune on)
    test.jsonl           questions on the other old entries (their documents are indexed and
                         trained on as text; their questions are never trained on)
    new-documents.jsonl  entries that arrive after the arms were built
    new-test.jsonl       questions on them
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

SEED = 13
OLD_QUESTIONED, NEW_QUESTIONED, UNQUESTIONED = 360, 80, 120
TRAIN_SHARE = 2 / 3
MAX_CHARS = 2400  # longer entries are mostly histories and lists, and slow every prompt down
TEMPLATES = (
    "What does {a} stand for?",
    "What is {a} short for?",
    "Expand the abbreviation {a}.",
    "What is the full name behind the abbreviation {a}?",
)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ABBREVIATION = re.compile(r"^\s*<[^>]+>\s*\(([A-Z][A-Za-z0-9/&-]{1,11})\)", re.M)
_LINK = re.compile(r"\{([^{}]*?)(?:\s+\((?:https?|ftp|mailto|news):[^)]*\))?\}")
_DATE = re.compile(r"^\s*\(\d{4}-\d{2}-\d{2}\)\s*$", re.M)


def _number(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def entries(dictd: Path) -> list[tuple[str, str]]:
    """(name, text) of every FOLDOC entry, in the order of the dictionary."""
    import gzip

    body = gzip.decompress((dictd / "foldoc.dict.dz").read_bytes())
    seen: set[tuple[int, int]] = set()
    found = []
    for line in (dictd / "foldoc.index").read_text(encoding="utf-8").splitlines():
        _, offset, length = line.split("\t")
        span = (_number(offset), _number(length))
        if span in seen:
            continue
        seen.add(span)
        text = body[span[0] : span[0] + span[1]].decode("utf-8", "replace")
        name = text.split("\n", 1)[0].strip()
        if name and not name.startswith("00-database"):
            found.append((name, text))
    return found


def clean(text: str) -> str:
    """The entry as plain paragraphs: links as their words, no revision date, no hanging indent."""
    text = _DATE.sub("", _LINK.sub(lambda m: m.group(1), text))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def abbreviation(name: str, text: str) -> str | None:
    """The abbreviation an entry defines, when its letters are the initials of the entry's name."""
    match = _ABBREVIATION.search(text)
    if match is None:
        return None
    words = re.findall(r"[A-Za-z0-9]+", name)
    letters = re.sub(r"[^A-Z0-9]", "", match.group(1).upper())
    initials = "".join(w[0] for w in words).upper()
    if len(words) < 2 or not letters or letters[0] != initials[0]:
        return None
    if sum(c in initials for c in letters) < len(letters) - 1:
        return None
    return match.group(1)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build(dictd: Path, out: Path) -> dict[str, int]:
    all_entries = entries(dictd)
    abbreviated: dict[str, list[tuple[str, str, str]]] = {}
    for name, text in all_entries:
        short = abbreviation(name, text)
        if short is not None:
            abbreviated.setdefault(short.upper(), []).append((name, text, short))
    # One entry per abbreviation: an abbreviation two entries claim has no single answer.
    questioned = [claims[0] for claims in abbreviated.values() if len(claims) == 1]
    questioned = [q for q in questioned if len(clean(q[1])) <= MAX_CHARS]
    rng = random.Random(SEED)
    rng.shuffle(questioned)
    old, new = questioned[:OLD_QUESTIONED], questioned[OLD_QUESTIONED : OLD_QUESTIONED + NEW_QUESTIONED]
    asked = {short.upper() for _, _, short in old + new}
    names = {name for name, _, _ in old + new}
    others = [
        (name, text)
        for name, text in all_entries
        if name not in names and len(clean(text)) <= MAX_CHARS and len(clean(text)) > 200 and name.upper() not in asked
    ]
    unquestioned = rng.sample(others, UNQUESTIONED)

    def document(name: str, text: str) -> dict[str, str]:
        return {"id": slug(name), "title": name, "text": clean(text)}

    def question(name: str, short: str) -> dict[str, str]:
        return {"question": rng.choice(TEMPLATES).format(a=short), "answer": name, "doc": slug(name)}

    old_documents = [document(n, t) for n, t, _ in old] + [document(n, t) for n, t in unquestioned]
    rng.shuffle(old_documents)
    old_questions = [question(n, s) for n, _, s in old]
    cut = round(len(old_questions) * TRAIN_SHARE)
    parts = {
        "documents": old_documents,
        "train": old_questions[:cut],
        "test": old_questions[cut:],
        "new-documents": [document(n, t) for n, t, _ in new],
        "new-test": [question(n, s) for n, _, s in new],
    }
    out.mkdir(parents=True, exist_ok=True)
    for part, rows in parts.items():
        with (out / f"{part}.jsonl").open("w", encoding="utf-8") as stream:
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    return {part: len(rows) for part, rows in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dictd", type=Path, help="the folder that holds foldoc.index and foldoc.dict.dz")
    parser.add_argument("--out", type=Path, default=Path("tunewise/data/foldoc"))
    args = parser.parse_args()
    for part, size in build(args.dictd, args.out).items():
        print(f"{part}: {size}")


if __name__ == "__main__":
    main()
