"""Each arm's score and its 95% interval on one shared axis (a forest plot), in text.

The verdict rests on whether intervals overlap, so that is what the chart shows: a bar for the
interval, a dot for the score (the mean of a trained arm's seeds, each seed's own score a `│` on
the bar), and the axis spanning only the scores' range, so that close arms are told apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

MIN_BAR = 16


@dataclass(frozen=True)
class Interval:
    name: str
    value: float
    low: float
    high: float
    seeds: tuple[float, ...] = ()  # each training seed's score, for an arm trained with several


class IntervalChart(Widget):
    DEFAULT_CSS = """
    IntervalChart {
        height: auto;
    }
    """

    def __init__(self, rows: list[Interval], metric: str, highlight: str | None = None, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows = rows
        self.metric = metric
        self.highlight = highlight

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.rows) + 2 if self.rows else 1

    def render(self) -> Text:
        if not self.rows:
            return Text("no arm finished", style="dim")
        name_width = max(len(row.name) for row in self.rows) + 1
        bar_width = max(MIN_BAR, self.size.width - name_width - 8)
        low = min(row.low for row in self.rows)
        high = max(row.high for row in self.rows)
        span = max(high - low, 1e-9)

        def column(value: float) -> int:
            return round((value - low) / span * (bar_width - 1))

        chart = Text()
        for row in self.rows:
            cells = [" "] * bar_width
            for i in range(column(row.low), column(row.high) + 1):
                cells[i] = "─"
            cells[column(row.low)], cells[column(row.high)] = "├", "┤"
            for seed in row.seeds:
                cells[column(min(max(seed, low), high))] = "│"
            cells[column(row.value)] = "●"
            style = "bold" if row.name == self.highlight else ""
            chart.append(f"{row.name:<{name_width}}", style=style)
            chart.append("".join(cells), style="bold green" if row.name == self.highlight else "cyan")
            chart.append(f" {row.value:.3f}\n", style=style)
        axis_low, axis_high = f"{low:.2f}", f"{high:.2f}"
        gap = max(1, bar_width - len(axis_low) - len(axis_high))
        chart.append(" " * name_width + axis_low + " " * gap + axis_high + "\n", style="dim")
        seeded = ", │ each training seed" if any(row.seeds for row in self.rows) else ""
        chart.append(" " * name_width + f"{self.metric}, 95% intervals{seeded}", style="dim")
        return chart
