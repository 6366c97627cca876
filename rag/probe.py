"""Running the probe: sample, measure (labels or answers), cache. See `tunewise.probes`."""

from __future__ import annotations

import contextlib
import time

from tunewise.data.shapes import Dataset
from tunewise.names import Progress
from tunewise.probes import MIN_PROBED, PROBE_LIMIT, Probe, probe_cache, probe_key, read_cached


def run_probe(
    data: Dataset,
    *,
    seed: int = 42,
    embedder: str | None = None,
    lm: str | None = None,
    progress: Progress | None = None,
    fresh: bool = False,
) -> Probe | None:
    """Probe `data` (the training part of the user's data: a comparison's training and validation
    slices, never its test set), or read the cached probe of the same examples and models.

    None when there is nothing a probe can measure: documents without answers, or fewer than
    `MIN_PROBED` examples (the advice then rests on the answers alone)."""
    from tunewise.atomic import atomic_write_json
    from tunewise.data.shapes import Shape
    from tunewise.names import DEFAULT_CAUSAL_LM, DEFAULT_EMBEDDER

    if data.shape is Shape.DOCUMENTS or len(data) < MIN_PROBED:
        return None
    labelled = data.shape is Shape.LABELLED
    models = {"embedder": embedder or DEFAULT_EMBEDDER}
    if not labelled:
        models["lm"] = lm or DEFAULT_CAUSAL_LM
    key = probe_key(data, models)
    cached = probe_cache() / f"{key}.json"
    if not fresh and cached.is_file():
        found = read_cached(cached)
        if found is not None:
            return Probe(**{**found.__dict__, "cached": True})
    started = time.perf_counter()
    sample, notes = _sampled(data, seed)
    if labelled:
        from rag.probe_labels import measure_labels

        labels = measure_labels(sample, models["embedder"], seed=seed, progress=progress)
        probe = Probe("labels", len(data), len(sample), 0.0, key, models, labels=labels, notes=notes)
    else:
        from rag.probe_answers import measure_answers

        answers = measure_answers(sample, models["embedder"], models["lm"], seed=seed, progress=progress)
        probe = Probe("answers", len(data), len(sample), 0.0, key, models, answers=answers, notes=notes)
    probe = Probe(**{**probe.__dict__, "seconds": round(time.perf_counter() - started, 2)})
    with contextlib.suppress(OSError):  # a read-only cache costs the next run a minute, not this one its answer
        atomic_write_json(cached, probe.to_dict())
    return probe


def _sampled(data: Dataset, seed: int) -> tuple[Dataset, list[str]]:
    if len(data) <= PROBE_LIMIT:
        return data, []
    import random

    positions = sorted(random.Random(seed).sample(range(len(data)), PROBE_LIMIT))
    return data.subset(positions), [f"probed a seeded sample of {PROBE_LIMIT:,} of the {len(data):,} examples"]
