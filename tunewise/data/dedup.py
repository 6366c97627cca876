"""Exact and near duplicates, inside a data set and between its train and eval splits.

Exact duplicates compare texts after normalisation (case, punctuation and spacing ignored).
Near duplicates are pairs whose character 3-gram sets have a Jaccard similarity of at least
`NEAR_THRESHOLD`; candidates come from MinHash locality-sensitive hashing (64 permutations in
16 bands of 4 rows, which finds a pair at Jaccard 0.8 with probability above 0.999) and each
candidate is then checked exactly, so the reported pairs have no false positives.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

NEAR_THRESHOLD = 0.8
SHINGLE = 3
MAX_CHARS = 2000  # long documents: the opening is enough to spot a copy
_PERMUTATIONS = 64
_BANDS = 16
_ROWS = _PERMUTATIONS // _BANDS
_PRIME = (1 << 31) - 1
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower-case, with every run of punctuation and spacing collapsed to one space."""
    return _NON_WORD.sub(" ", text.lower()).strip()


@dataclass
class DuplicateReport:
    """Repeated examples inside one data set."""

    duplicates: int = 0  # records whose input and target both occurred before
    conflicts: int = 0  # inputs that occur with more than one different target
    examples: list[tuple[int, int]] = field(default_factory=list)  # (first, repeat) positions


def find_duplicates(inputs: list[str], targets: list[str] | None, max_examples: int = 5) -> DuplicateReport:
    report = DuplicateReport()
    first_seen: dict[tuple[str, str], int] = {}
    targets_of: dict[str, set[str]] = defaultdict(set)
    for position, text in enumerate(inputs):
        key_text = normalise(text) or text
        target = targets[position] if targets is not None else ""
        key = (key_text, target)
        if key in first_seen:
            report.duplicates += 1
            if len(report.examples) < max_examples:
                report.examples.append((first_seen[key], position))
        else:
            first_seen[key] = position
        targets_of[key_text].add(target)
    report.conflicts = sum(1 for seen in targets_of.values() if len(seen) > 1)
    return report


@dataclass
class LeakageReport:
    """Eval examples that also occur, exactly or nearly, in the training split."""

    exact: int = 0
    near: int = 0
    threshold: float = NEAR_THRESHOLD
    examples: list[tuple[int, int, float]] = field(default_factory=list)  # (eval, train, similarity)

    @property
    def total(self) -> int:
        return self.exact + self.near


class _Shingles:
    """Character 3-gram codes of many texts at once, laid out end to end in one array.

    Text `i` owns `codes[starts[i]:ends[i]]`. Codes repeat when a 3-gram repeats, which
    MinHash ignores (a minimum over a multiset equals the minimum over its set).
    """

    def __init__(self, normalised: list[str]) -> None:
        texts = [t[:MAX_CHARS] for t in normalised]
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        # One code point per element; a NUL between texts and at the end keeps every
        # 3-gram window inside the array.
        points = np.frombuffer(("\0".join(texts) + "\0" * SHINGLE).encode("utf-32-le"), dtype=np.uint32)
        points = points.astype(np.uint64)
        window = len(points) - SHINGLE + 1
        codes = np.zeros(window, dtype=np.uint64)
        for offset in range(SHINGLE):
            # Multiplication wraps modulo 2^64: a cheap, well-mixed polynomial hash.
            codes = codes * np.uint64(0x100000001B3) + points[offset : offset + window]
        self.codes = codes
        self.starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        # Texts shorter than a shingle still get one code (their padded window).
        self.ends = self.starts + np.maximum(lengths - SHINGLE + 1, 1)

    def __len__(self) -> int:
        return len(self.starts)

    def set_of(self, index: int) -> set[int]:
        return set(self.codes[self.starts[index] : self.ends[index]].tolist())

    def signatures(self, seed: int = 1) -> np.ndarray:
        """MinHash signatures, one row of `_PERMUTATIONS` values per text."""
        rng = np.random.default_rng(seed)
        a = rng.integers(1, _PRIME, size=_PERMUTATIONS, dtype=np.uint64)
        b = rng.integers(0, _PRIME, size=_PERMUTATIONS, dtype=np.uint64)
        # reduceat over [start0, end0, start1, end1, ...] reduces each text's own span at
        # even positions; the odd positions cover the gaps between texts and are dropped.
        bounds = np.empty(2 * len(self.starts), dtype=np.int64)
        bounds[0::2], bounds[1::2] = self.starts, self.ends
        reduced = self.codes % np.uint64(_PRIME)
        signatures = np.empty((len(self.starts), _PERMUTATIONS), dtype=np.uint64)
        for p in range(_PERMUTATIONS):
            # a and the reduced code are below 2^31, so a * x + b stays below 2^63.
            permuted = (a[p] * reduced + b[p]) % np.uint64(_PRIME)
            signatures[:, p] = np.minimum.reduceat(permuted, bounds)[0::2]
        return signatures


def _band_keys(signatures: np.ndarray) -> np.ndarray:
    """One 64-bit key per (text, band): the band's rows hashed together."""
    keys = np.zeros((signatures.shape[0], _BANDS), dtype=np.uint64)
    for row in range(_ROWS):
        keys = keys * np.uint64(0x9E3779B97F4A7C15) + signatures[:, row::_ROWS]
    return keys


def find_leakage(
    train_inputs: list[str], eval_inputs: list[str], threshold: float = NEAR_THRESHOLD, max_examples: int = 5
) -> LeakageReport:
    """Count eval inputs that repeat a training input exactly or nearly."""
    report = LeakageReport(threshold=threshold)
    if not train_inputs or not eval_inputs:
        return report
    train_norm = [normalise(t) or t for t in train_inputs]
    eval_norm = [normalise(t) or t for t in eval_inputs]
    exact_index: dict[str, int] = {}
    for position, text in enumerate(train_norm):
        exact_index.setdefault(text, position)
    remaining: list[int] = []
    for position, text in enumerate(eval_norm):
        match = exact_index.get(text)
        if match is None:
            remaining.append(position)
            continue
        report.exact += 1
        if len(report.examples) < max_examples:
            report.examples.append((position, match, 1.0))
    if not remaining:
        return report

    train_sh = _Shingles(train_norm)
    eval_sh = _Shingles([eval_norm[p] for p in remaining])
    train_keys = _band_keys(train_sh.signatures())
    eval_keys = _band_keys(eval_sh.signatures())
    candidates: list[set[int]] = [set() for _ in remaining]
    for band in range(_BANDS):
        order = np.argsort(train_keys[:, band], kind="stable")
        ordered = train_keys[order, band]
        low = np.searchsorted(ordered, eval_keys[:, band], side="left")
        high = np.searchsorted(ordered, eval_keys[:, band], side="right")
        for hit in np.nonzero(high > low)[0].tolist():
            candidates[hit].update(order[low[hit] : high[hit]].tolist())
    for row, position in enumerate(remaining):
        if not candidates[row]:
            continue
        mine = eval_sh.set_of(row)
        best, best_train = 0.0, -1
        for candidate in candidates[row]:
            theirs = train_sh.set_of(candidate)
            similarity = len(mine & theirs) / len(mine | theirs)
            if similarity > best:
                best, best_train = similarity, candidate
        if best >= threshold:
            report.near += 1
            if len(report.examples) < max_examples:
                report.examples.append((position, best_train, round(best, 3)))
    return report
