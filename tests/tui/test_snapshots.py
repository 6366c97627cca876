"""Each screen of the flow pinned as an SVG snapshot, at 80x24 and at a large terminal.

Every screen is shown on fixed inputs (answers, a results file, a folder of known files), so a
snapshot changes only when the screen does. `pytest --snapshot-update` accepts a new look; the
SVGs under `__snapshots__/` are what a reviewer opens to see it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.clock import MockClock
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Log, Select

import tui.app
from advisor.answers import Answers
from compare.plan import ComparisonPlan
from compare.results import Results
from harness.callbacks import TrainProgress
from tests.tui.test_app import wait_for
from tui.app import TunewiseApp
from tui.messages import ArmChanged, ArmProgressed, ArmsChosen, LogLine
from tui.screens.advice import AdviceScreen
from tui.screens.data import DataScreen
from tui.screens.questions import QuestionsScreen
from tui.screens.results import ResultsScreen
from tui.screens.run import RunScreen
from tui.widgets.loss_chart import LossChart
from tunewise.data.task import DataSpec

SIZES = {"small": (80, 24), "large": (160, 48)}
PINS = Path(__file__).with_name("snapshot-pins.txt")


def _drawn_by_the_pinned_versions() -> str | None:
    """Why the snapshots cannot be compared here, or None: they were drawn by the versions in
    `snapshot-pins.txt` (what `make test` installs), and another Textual or Rich draws differently."""
    from importlib.metadata import PackageNotFoundError, version

    for line in PINS.read_text(encoding="utf-8").splitlines():
        if "==" not in line or line.startswith("#"):
            continue
        name, pinned = line.split("==")
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "none"
        if installed != pinned:
            return f"snapshots are drawn by {name}=={pinned} ({PINS.name}); this environment has {installed}"
    return None


pytestmark = pytest.mark.skipif(
    _drawn_by_the_pinned_versions() is not None, reason=str(_drawn_by_the_pinned_versions())
)
FIXTURES = Path(__file__).parent / "fixtures"
Snap = Callable[..., bool]


class OneScreen(App[None]):
    """The app's look (styles, title, keys) around one screen."""

    CSS_PATH = str(Path(tui.app.__file__).with_name("tunewise.tcss"))
    TITLE = TunewiseApp.TITLE
    SUB_TITLE = TunewiseApp.SUB_TITLE
    BINDINGS = TunewiseApp.BINDINGS

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)

    def action_toggle_keys(self) -> None:
        """The key is shown in the footer, as in the app."""


def _answers() -> Answers:
    """A case with every machine-dependent answer given, so the advice is the same everywhere."""
    return Answers(
        task="classification", n_examples=2400, n_labels=6, seq_len=128, tokens_per_example=40,
        gpu_memory_gb=0.0, gpu_count=0, ram_gb=16.0, cpu_cores=4, budget_usd=20.0,
    )  # fmt: skip


def _advice() -> dict[str, Any]:
    from compare.advise import rank

    return rank(_answers(), data_path="tickets.csv", test_size=480).recommendation.to_dict()


@pytest.mark.parametrize("size", SIZES)
def test_data_screen(snap_compare: Snap, size: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths are shown from the working folder
    folder = tmp_path / "my-data"
    folder.mkdir()
    rows = ["msg,verdict", *[f'"the meal was {w}",{v}' for w, v in [("great", "good"), ("awful", "bad")] * 6]]
    (folder / "reviews.csv").write_text("\n".join(rows) + "\n")
    (folder / "notes").mkdir()
    screen = DataScreen(DataSpec(), root=folder)

    async def choose(pilot: Pilot[None]) -> None:
        await pilot.pause(0.3)
        await pilot.press("down", "down", "enter")  # the folder first, then reviews.csv
        await wait_for(pilot, lambda: screen.table is not None, timeout=30)
        screen.query_one("#map-input", Select).value = "msg"
        screen.query_one("#map-target", Select).value = "verdict"
        await wait_for(pilot, lambda: screen.usable)
        await pilot.pause(0.2)

    assert snap_compare(OneScreen(screen), terminal_size=SIZES[size], run_before=choose)


@pytest.mark.parametrize("size", SIZES)
def test_questions_screen(snap_compare: Snap, size: str) -> None:
    screen = QuestionsScreen(_answers())

    async def break_one(pilot: Pilot[None]) -> None:
        await pilot.pause(0.2)
        screen.query_one("#field-n_labels", Input).value = "1"  # shows the answers file's own message
        await pilot.pause(0.2)

    assert snap_compare(OneScreen(screen), terminal_size=SIZES[size], run_before=break_one)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", ["tab-options", "tab-guide", "tab-run"])
def test_advice_screen(snap_compare: Snap, size: str, tab: str) -> None:
    screen = AdviceScreen(_advice())

    async def show(pilot: Pilot[None]) -> None:
        await pilot.pause(0.2)
        screen.query_one("#advice-tabs").active = tab  # type: ignore[attr-defined]
        await pilot.pause(0.2)

    assert snap_compare(OneScreen(screen), terminal_size=SIZES[size], run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_run_screen(snap_compare: Snap, size: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison part-way: two arms done, one training with its loss, one waiting. The
    screen is real; its worker is replaced by the messages a real one sends."""
    monkeypatch.setattr(RunScreen, "compare", lambda self: None)
    monkeypatch.setattr(RunScreen, "elapsed", lambda self: "42 s")
    plan = ComparisonPlan(data=DataSpec(path="tickets.csv"), arms="rag,head,full,lora")
    # The bar's time left depends on how fast the messages were handled: frozen, it is the same on any machine.
    screen = RunScreen(plan, Path("out"), clock=MockClock())

    async def part_way(pilot: Pilot[None]) -> None:
        await pilot.pause(0.2)
        messages: list[Any] = [LogLine("arms: rag, head, full, lora (the advice: full)")]
        messages += [ArmsChosen(["rag", "head", "full", "lora"], "full")]  # the stage line: a message, not the log
        messages += [ArmChanged(arm, "waiting") for arm in ("rag", "head", "full", "lora")]
        messages += [ArmChanged("rag", "ok"), ArmChanged("head", "ok"), ArmChanged("full", "running")]
        for step in range(1, 31):
            loss = 1.8 * 0.93**step + 0.1
            messages.append(ArmProgressed(TrainProgress(step, 60, step / 20, step * 0.5, loss=loss, event="log")))
        messages.append(LogLine("full: training on 1,728 examples"))
        for message in messages:
            screen.post_message(message)
        # Every message handled and the chart drawn, however busy the machine: then the picture.
        log, chart = screen.query_one("#run-log", Log), screen.query_one("#run-loss", LossChart)
        await wait_for(pilot, lambda: len(chart.losses) == 30 and "1,728" in "\n".join(log.lines))
        await pilot.pause(0.3)

    assert snap_compare(OneScreen(screen), terminal_size=SIZES[size], run_before=part_way)


@pytest.mark.parametrize("size", SIZES)
def test_results_screen(snap_compare: Snap, size: str) -> None:
    results = Results.load(FIXTURES)
    assert snap_compare(OneScreen(ResultsScreen(results)), terminal_size=SIZES[size], run_before=_pause)


async def _pause(pilot: Pilot[None]) -> None:
    await pilot.pause(0.3)
