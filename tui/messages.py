"""Messages the workers post to the UI; named for what happened, all of them here.

Progress messages that supersede each other say so (`can_replace`): when the UI is busy, a flood
of them collapses to the newest instead of piling up in the queue (Toolong does the same while it
scans). A training step's progress is superseded by any later one; a logged loss or an eval is
kept, since the loss chart draws each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from compare.advise import Advice
    from compare.arms import ArmState
    from compare.results import Results


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

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PrepareProgressed) and message.model == self.model


@dataclass
class ModelPrepared(Message):
    model: str
    path: str


@dataclass
class AdviceReady(Message):
    advice: Advice  # with what it rests on, kept to advise again when the answers are edited
    probing: bool = False  # the advice from the answers alone, while the data is being measured


@dataclass
class ProbeProgressed(Message):
    stage: str
    fraction: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProbeProgressed)


@dataclass
class TrainStageChanged(Message):
    stage: str


@dataclass
class TrainProgressed(Message):
    progress: Any  # harness.callbacks.TrainProgress; typed loosely so this module stays import-light

    def can_replace(self, message: Message) -> bool:
        return self.progress.event == "step" and isinstance(message, TrainProgressed)


@dataclass
class TrainFinished(Message):
    status: str  # finished or cancelled
    run_dir: str
    metrics: dict[str, Any]


# ---------------------------------------------------------------------------- a comparison running


@dataclass
class ArmsChosen(Message):
    """The comparison has frozen its split and fixed the advice: these arms will run."""

    arms: list[str]
    advice: str | None


@dataclass
class ArmChanged(Message):
    arm: str
    state: ArmState


@dataclass
class LogLine(Message):
    line: str


@dataclass
class ArmProgressed(Message):
    progress: Any  # harness.callbacks.TrainProgress

    def can_replace(self, message: Message) -> bool:
        return self.progress.event == "step" and isinstance(message, ArmProgressed)


@dataclass
class ComparisonEnded(Message):
    results: Results | None
    stopped: str = ""
    failed: tuple[str, str] | None = None


# ---------------------------------------------------------------------------- choosing data


@dataclass
class PreviewRead(Message):
    path: str
    table: Any  # tunewise.data.raw.RawTable | None
    problem: str = ""
