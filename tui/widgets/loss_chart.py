"""The loss of the arm that is training, drawn as it grows: a real chart with axes."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class LossChart(PlotextPlot):
    """Training loss against the optimizer step; `eval` points (the validation loss) beside it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.eval_steps: list[int] = []
        self.eval_losses: list[float] = []
        self.title = "training loss"

    def reset(self, title: str) -> None:
        self.steps, self.losses, self.eval_steps, self.eval_losses = [], [], [], []
        self.title = title
        self.replot()

    def add(self, step: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        self.replot()

    def add_eval(self, step: int, loss: float) -> None:
        self.eval_steps.append(step)
        self.eval_losses.append(loss)
        self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title(self.title)
        plt.xlabel("step")
        if self.losses:
            plt.plot(self.steps, self.losses, label="train", marker="braille")
        if self.eval_losses:
            plt.scatter(self.eval_steps, self.eval_losses, label="validation")
        self.refresh()
