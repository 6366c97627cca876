"""Exact and near duplicates, inside a data set and between its train and eval splits.

Exact duplicates compare texts after normalisation (case, punctuation and spacing ignored).
Near duplicates are pairs whose character 3-gram sets have a Jaccard similarity of at least
`NEAR_THRESHOLD`; candidates come from MinHash locality-sensitive hashing (64 permutations in
16 bands of 4 rows, which finds a pair at Jaccard 0.8 with probability above 0.999) and each
candidate is then checked exactly, so the reported pairs have no false positives.

The search is bounded so that it grows linearly with the data whatever the data looks like.
Repetitive text (a small vocabulary, templated rows) puts thousands of rows in one LSH bucket,
and checking every pair there is quadratic: each eval row checks at most `MAX_CANDIDATES`
training rows, and the whole near-duplicate pass stops after `TIME_BUDGET_SECONDS` (exact
duplicates are always counted in full). A capped search can miss near duplicates, never invent
them; the report says when it was capped, and the profile shows it.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

NEAR_THRESHOLD = 0.8
SHINGLE = 3
MAX_CHARS = 2000  # long documents: the opening is enough to spot a copy
MAX_CANDIDATES = 32  # training rows checked exactly per eval row, at most
TIME_BUDGET_SECONDS = 20.0  # for the near-duplicate pass over a whole data set
_PERMUTATIONS = 64
_BANDS = 16
_ROWS = _PERMUTATIONS // _BANDS
_PRIME = (1 << 31) - 1
_BLOCK = 2048  # texts whose MinHash signatures are computed together
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
    positions: list[int] = field(default_factory=list)  # every eval position that overlaps train, sorted
    capped_rows: int = 0  # eval rows whose candidates were cut to MAX_CANDIDATES
    unchecked_rows: int = 0  # eval rows the time budget left without a near-duplicate check
    eval_rows: int = 0  # eval rows searched

    @property
    def total(self) -> int:
        return self.exact + self.near

    @property
    def capped(self) -> bool:
        """Whether the near-duplicate count is a lower bound (the search was cut short somewhere)."""
        return bool(self.capped_rows or self.unchecked_rows)

    @property
    def cap_matters(self) -> bool:
        """Whether the cap may hide enough to say so: rows left unchecked, or over 5% of rows capped.

        A few capped rows (short, formulaic questions in any real set) change no decision."""
        return bool(self.unchecked_rows) or self.capped_rows > 0.05 * max(self.eval_rows, 1)

    def cap_note(self) -> str:
        """For people: how the near-duplicate search was bounded ("" when it was not)."""
        parts = []
        if self.capped_rows:
            parts.append(f"{self.capped_rows:,} eval rows checked against {MAX_CANDIDATES} candidates only")
        if self.unchecked_rows:
            parts.append(f"{self.unchecked_rows:,} eval rows left unchecked after {TIME_BUDGET_SECONDS:g} s")
        return ("near-duplicate search capped: " + "; ".join(parts)) if parts else ""


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
        signatures = np.empty((len(self.starts), _PERMUTATIONS), dtype=np.uint64)
        # A block of texts at a time: its codes stay in the CPU's cache across the 64
        # permutations, so the cost per text does not grow with the data.
        for first in range(0, len(self.starts), _BLOCK):
            last = min(first + _BLOCK, len(self.starts))
            offset = self.starts[first]
            # reduceat over [start0, end0, start1, end1, ...] reduces each text's own span at
            # even positions; the odd positions cover the gaps between texts and are dropped.
            bounds = np.empty(2 * (last - first), dtype=np.int64)
            bounds[0::2], bounds[1::2] = self.starts[first:last] - offset, self.ends[first:last] - offset
            # One element past the last text: reduceat needs an index after every span it reduces.
            reduced = np.append(self.codes[offset : self.ends[last - 1]] % np.uint64(_PRIME), np.uint64(0))
            for p in range(_PERMUTATIONS):
                # a and the reduced code are below 2^31, so a * x + b stays below 2^63.
                permuted = (a[p] * reduced + b[p]) % np.uint64(_PRIME)
                signatures[first:last, p] = np.minimum.reduceat(permuted, bounds)[0::2]
        return signatures


def _band_keys(signatures: np.ndarray) -> np.ndarray:
    """One 64-bit key per (text, band): the band's rows hashed together."""
    keys = np.zeros((signatures.shape[0], _BANDS), dtype=np.uint64)
    for row in range(_ROWS):
        keys = keys * np.uint64(0x9E3779B97F4A7C15) + signatures[:, row::_ROWS]
    return keys


def _candidate_lookup(train_keys: np.ndarray, eval_keys: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per band: training rows sorted by key, and each eval row's [low, high) range of equal keys."""
    orders, lows, highs = [], [], []
    for band in range(_BANDS):
        order = np.argsort(train_keys[:, band], kind="stable")
        ordered = train_keys[order, band]
        orders.append(order)
        lows.append(np.searchsorted(ordered, eval_keys[:, band], side="left"))
        highs.append(np.searchsorted(ordered, eval_keys[:, band], side="right"))
    return orders, np.stack(lows, axis=1), np.stack(highs, axis=1)


def find_leakage(
    train_inputs: list[str],
    eval_inputs: list[str],
    threshold: float = NEAR_THRESHOLD,
    max_examples: int = 5,
    *,
    time_budget: float = TIME_BUDGET_SECONDS,
) -> LeakageReport:
    """Count eval inputs that repeat a training input exactly or nearly; bounded as the module says."""
    report = LeakageReport(threshold=threshold, eval_rows=len(eval_inputs))
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
        report.positions.append(position)
        if len(report.examples) < max_examples:
            report.examples.append((position, match, 1.0))
    if remaining:
        _find_near(
            report,
            list(exact_index),
            list(exact_index.values()),
            [eval_norm[p] for p in remaining],
            remaining,
            max_examples,
            time_budget,
        )
    report.positions.sort()
    return report


def _find_near(
    report: LeakageReport,
    train_texts: list[str],
    train_positions: list[int],
    eval_texts: list[str],
    eval_positions: list[int],
    max_examples: int,
    time_budget: float,
) -> None:
    """Add the near duplicates of `eval_texts` among the distinct `train_texts` to `report`."""
    deadline = time.monotonic() + time_budget
    train_sh = _Shingles(train_texts)
    eval_sh = _Shingles(eval_texts)
    orders, lows, highs = _candidate_lookup(_band_keys(train_sh.signatures()), _band_keys(eval_sh.signatures()))
    for row in np.nonzero((highs > lows).any(axis=1))[0].tolist():
        if time.monotonic() > deadline:
            report.unchecked_rows = int(((highs[row:] > lows[row:]).any(axis=1)).sum())
            break
        candidates: set[int] = set()
        for band in range(_BANDS):
            low, high = int(lows[row, band]), int(highs[row, band])
            if high > low:
                room = MAX_CANDIDATES - len(candidates)
                candidates.update(orders[band][low : min(high, low + room)].tolist())
                if len(candidates) >= MAX_CANDIDATES:
                    left_out = high - low > room or bool((highs[row, band + 1 :] > lows[row, band + 1 :]).any())
                    report.capped_rows += int(left_out)
                    break
        mine = eval_sh.set_of(row)
        best, best_train = 0.0, -1
        for candidate in candidates:
            theirs = train_sh.set_of(candidate)
            similarity = len(mine & theirs) / len(mine | theirs)
            if similarity > best:
                best, best_train = similarity, candidate
        if best >= report.threshold:
            report.near += 1
            report.positions.append(eval_positions[row])
            if len(report.examples) < max_examples:
                report.examples.append((eval_positions[row], train_positions[best_train], round(best, 3)))
