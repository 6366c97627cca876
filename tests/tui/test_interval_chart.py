"""The app's interval chart: a bar per arm, its score, and each training seed's own score."""

from __future__ import annotations

from tui.widgets.interval_chart import Interval, IntervalChart


def test_each_seed_is_marked_on_its_arms_bar() -> None:
    rows = [Interval("rag", 0.78, 0.71, 0.84), Interval("lora", 0.90, 0.85, 0.95, seeds=(0.86, 0.90, 0.94))]
    text = IntervalChart(rows, "accuracy").render().plain
    rag, lora = text.splitlines()[:2]
    assert "│" not in rag and lora.count("│") == 2  # the middle seed sits under the mean's dot
    assert lora.index("│") < lora.index("●") < lora.rindex("│")
    assert text.rstrip().endswith("accuracy, 95% intervals, │ each training seed")
    assert "each training seed" not in IntervalChart(rows[:1], "accuracy").render().plain
