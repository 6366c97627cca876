"""The advice, one way: the user's data and answers, a probe of the data, then the ranking.

`tunewise recommend`, `tunewise demo`, `tunewise compare` (which fixes the advice before any arm
runs) and the app's first screen all call `advise`, so the same data and answers give the same
advice wherever it is asked for. The advisor ranks what runs here; the cost of fine-tuning the
same examples on a hosted API (`hosted.estimate`) is added beside it here, where the rooms meet.

    data ─► profile ─┐
    detected hardware, answers file, flags ─► answers ─► (first advice) ─► probe ─► advice

The probe measures only the data's training part (never its test set), and is cached by its
examples: asking again is instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.answers import Answers
    from advisor.recommend import Recommendation
    from hosted.served_arms import Served
    from tunewise.data.shapes import Dataset
    from tunewise.data.task import TaskData
    from tunewise.probes import Probe

Progress = Callable[[str, float], None]  # the probe's stage and how far it is


@dataclass(frozen=True)
class Advice:
    """What the advice rests on, and the advice."""

    answers: Answers
    profile: dict[str, Any] | None  # the data's profile (None without data)
    probe: Probe | None  # None without data, with the probe off, or when there is nothing to measure
    recommendation: Recommendation
    test_size: int | None  # the examples a comparison would score on: how close two expectations tie

    @property
    def recommended(self) -> str:
        return self.recommendation.recommended


def advise(
    data: TaskData | None,
    *,
    detect_hardware: bool = True,
    answers_file: Path | None = None,
    flags: dict[str, Any] | None = None,
    model: str | None = None,
    probe: bool = True,
    fresh_probe: bool = False,
    progress: Progress | None = None,
    before_probe: Callable[[Advice], None] | None = None,
    served: Served | None = None,
    documents: Dataset | None = None,
) -> Advice:
    """The advice for `data` (read already, so a caller can refuse it first) and the answers from
    every source (`advisor.answers.collect_answers`: detected hardware, profile, file, flags).

    `before_probe`, when given, receives the advice from the answers alone while the probe is
    still to run (the app shows it at once); `progress` follows the probe. With `served`, a few
    training examples are put to the served model the user would prompt (`hosted.served_arms.probe_served`,
    at most `PROBE_CALLS` calls), and its score and price stand for `prompting`. With `documents`
    (the answers draw on them), their count is an answer measured rather than asked, and the probe
    measures retrieval over them and answering from them (`rag.probe_documents`).
    """
    from advisor.answers import collect_answers

    if documents is not None:
        flags = {**(flags or {}), "n_documents": len(documents)}
    answers, profile = collect_answers(
        data=data, model=model, detect_hardware=detect_hardware, answers_file=answers_file, flags=flags
    )
    test_size = len(data.eval) if data is not None else None
    path = data.spec.path if data is not None else None
    if before_probe is not None:
        before_probe(rank(answers, profile=profile, data_path=path, test_size=test_size))
    measured = None
    if data is not None and probe:
        from rag.probe import run_probe

        measured = run_probe(data.train, seed=data.spec.seed, progress=progress, fresh=fresh_probe)
        if measured is not None and served is not None:  # the model the user would prompt speaks for prompting
            from hosted.served_arms import probe_served

            if progress is not None:
                progress(f"asking {served.lm.name}", 0.0)
            measured = replace(measured, prompted=probe_served(data.train, served, seed=data.spec.seed))
        if measured is not None and documents is not None:
            from rag.probe_documents import run_document_probe

            if progress is not None:
                progress("retrieval over the documents", 0.0)
            signals = run_document_probe(documents, data.train, seed=data.spec.seed, fresh=fresh_probe)
            measured = replace(measured, documents=signals)
    return rank(answers, profile=profile, probe=measured, data_path=path, test_size=test_size)


def advise_again(previous: Advice, answers: Answers, data_path: str | None) -> Advice:
    """The advice for answers the user edited, on the data and probe `previous` rested on."""
    return rank(
        answers, profile=previous.profile, probe=previous.probe, data_path=data_path, test_size=previous.test_size
    )


def rank(
    answers: Answers,
    *,
    profile: dict[str, Any] | None = None,
    probe: Probe | None = None,
    data_path: str | None = None,
    test_size: int | None = None,
) -> Advice:
    """The ranking for answers gathered already, with the same examples priced on a hosted
    fine-tuning API beside it."""
    from advisor.calibration import machine_history
    from advisor.recommend import recommend
    from hosted.estimate import openai_job

    history = machine_history()  # what training measured here corrects the estimator's figures
    recommendation = recommend(answers, data_path=data_path, probe=probe, test_size=test_size, history=history)
    if answers.n_examples > 0:
        recommendation = replace(recommendation, hosted=openai_job(answers.n_examples, answers.mean_tokens))
    return Advice(answers, profile, probe, recommendation, test_size)
