"""Messages the workers post to the UI; named for what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class ProfileReady(Message):
    report: dict[str, Any]


@dataclass
class WorkFailed(Message):
    title: str
    message: str


@dataclass
class DataUnreadable(Message):
    """The data the app was given could not be read: nothing can be advised or compared on it."""

    title: str
    message: str


@dataclass
class PrepareProgressed(Message):
    model: str
    stage: str
    fraction: float


@dataclass
class ModelPrepared(Message):
    model: str
    path: str


@dataclass
class AdviceBasis:
    """What an advice was computed from, kept to compute it again when the answers are edited."""

    answers: Any  # advisor.answers.Answers
    probe: Any  # tunewise.probes.Probe | None
    test_size: int | None


@dataclass
class AdviceReady(Message):
    advice: dict[str, Any]
    probing: bool = False  # the advice from the answers alone, while the data is being measured
    basis: AdviceBasis | None = None


@dataclass
class ProbeProgressed(Message):
    stage: str
    fraction: float


@dataclass
class TrainStageChanged(Message):
    stage: str


@dataclass
class TrainProgressed(Message):
    progress: Any  # harness.callbacks.TrainProgress; typed loosely so this module stays import-light


@dataclass
class TrainFinished(Message):
    status: str  # finished or cancelled
    run_dir: str
    metrics: dict[str, Any]
