"""Progress messages collapse to the newest when the UI falls behind; data-carrying ones never do."""

from __future__ import annotations

from harness.callbacks import TrainProgress
from tui.messages import ArmProgressed, LogLine, PrepareProgressed, ProbeProgressed, TrainProgressed


def test_a_newer_progress_supersedes_an_older_one_but_never_a_logged_loss() -> None:
    assert ProbeProgressed("probing", 0.1).can_replace(ProbeProgressed("probing", 0.2))
    assert PrepareProgressed("minilm-l6", "copying", 0.1).can_replace(PrepareProgressed("minilm-l6", "copying", 0.5))
    assert not PrepareProgressed("minilm-l6", "copying", 0.1).can_replace(PrepareProgressed("smollm2", "x", 0.5))
    step, logged = TrainProgress(1, 10, 0.1, 1.0), TrainProgress(2, 10, 0.2, 2.0, loss=0.5, event="log")
    for kind in (TrainProgressed, ArmProgressed):
        assert kind(step).can_replace(kind(logged))  # a step's bar is superseded by anything later
        assert not kind(logged).can_replace(kind(step))  # a logged loss is a point on the chart: kept
    assert not LogLine("a").can_replace(LogLine("b"))  # every log line is shown
