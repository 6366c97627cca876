"""The app's whole flow, driven by a pilot on real data and real (small) work: the data chosen in
the tree and mapped, the questionnaire, the advice and its arms, the run, the results."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, SelectionList, Static

from compare.plan import choose_arms
from tests.tui.test_app import settle, wait_for
from tui.app import TunewiseApp
from tui.screens.advice import AdviceScreen
from tui.screens.data import DataScreen
from tui.screens.error_modal import BUG_TITLE, ErrorModal
from tui.screens.home import HomeScreen
from tui.screens.questions import QuestionsScreen
from tui.screens.results import ResultsScreen
from tui.screens.run import RunScreen


def _text(screen: object, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


async def test_a_users_csv_goes_from_the_tree_to_a_finished_comparison(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The two-class sentiment rows under column names no alias knows, so the user has to map them.
    rows = sentiment_data.read_text().replace("text,label", "msg,verdict", 1)
    (tmp_path / "reviews.csv").write_text(rows)
    monkeypatch.chdir(tmp_path)  # the tree opens here, and comparisons/ is created here
    app = TunewiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        assert isinstance(home, HomeScreen)

        # 1. Data: the file is found in the tree, previewed, and its columns mapped by hand.
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, DataScreen))
        data = app.screen
        assert isinstance(data, DataScreen)
        await pilot.press("down", "enter")  # the first entry under the root: reviews.csv
        await wait_for(pilot, lambda: data.table is not None, timeout=30)
        assert data.path is not None and Path(data.path).name == "reviews.csv"
        assert "cannot tell what the columns mean" in _text(data, "#data-detected")
        assert data.query_one("#data-rows", DataTable).row_count == 8  # the first rows, not all of them
        await pilot.press("u")  # refused: nothing usable yet
        assert app.screen is data
        data.query_one("#map-input", Select).value = "msg"
        data.query_one("#map-target", Select).value = "verdict"
        await wait_for(pilot, lambda: data.usable)
        assert "mapped: labelled (text=msg, label=verdict)" in _text(data, "#data-detected")
        await pilot.press("u")
        await wait_for(pilot, lambda: app.screen is home)
        assert home.spec.columns == {"text": "msg", "label": "verdict"}
        await wait_for(pilot, lambda: home.report is not None and home.advice is not None and not home.probing)
        assert home.report is not None and home.report["task"] == "classification"
        assert set(home.report["labels"]) == {"positive", "negative"}
        assert home.advice is not None and home.advice["probe"] is not None  # measured, not only asked
        knn = home.advice["probe"]["labels"]["knn_accuracy"]
        assert f"k-NN {knn:.3f}" in _text(home, "#data-summary")  # the probe's figures beside the profile

        # 2. Questions: the budget edited; the advice follows the new answers.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        app.screen.query_one("#field-budget_usd", Input).value = "25"
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: app.screen is home and home.edited is not None)
        await wait_for(pilot, lambda: home.advice is not None and home.advice["answers"]["budget_usd"] == 25)

        # 3. Advice: the advisor's arms are ticked; a bad value is refused with the harness's message.
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AdviceScreen))
        advice = app.screen
        assert isinstance(advice, AdviceScreen)
        ranking = [row["method"] for row in home.advice["ranking"] if row["feasible"]]
        assert advice.chosen_arms() == [
            arm
            for arm in advice.query_one("#arm-choice", SelectionList)._values  # type: ignore[attr-defined]
            if arm in choose_arms("recommended", ranking)
        ]
        assert advice.query_one("#options", DataTable).row_count == len(home.advice["ranking"])
        arms = advice.query_one("#arm-choice", SelectionList)
        arms.deselect_all()
        arms.select("rag")
        arms.select("head")
        advice.query_one("#set-learning_rate", Input).value = "fast"
        await pilot.pause(0.1)
        await pilot.press("r")
        assert app.screen is advice  # refused: the value is not a number
        assert "not a number" in _text(advice, "#set-error-learning_rate")
        advice.query_one("#set-learning_rate", Input).value = "3e-4"
        await pilot.pause(0.1)
        assert "--arms rag,head --set learning_rate=3e-4" in _text(advice, "#run-summary")
        advice.query_one("#options", DataTable).focus()
        await pilot.press("r")

        # 4. Run (small enough here to finish in seconds), then 5. Results.
        await wait_for(pilot, lambda: any(isinstance(screen, RunScreen) for screen in app.screen_stack))
        run = next(screen for screen in app.screen_stack if isinstance(screen, RunScreen))
        assert run.plan.arms == "rag,head" and run.plan.overrides == ["learning_rate=3e-4"]
        assert run.plan.answer_values["budget_usd"] == 25  # the comparison is advised on the edited answers
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=240)
        results = app.screen
        assert isinstance(results, ResultsScreen)
        arms = results.query_one("#arms", DataTable)
        await wait_for(pilot, lambda: arms.row_count > 0)  # the screen fills its table once mounted
        assert [str(key.value) for key in arms.rows] == ["rag", "head"]
        assert results.results.verdict.ship in {"rag", "head"}
        assert "report.html" in _text(results, "#report-path")
        await settle(pilot)
    assert (tmp_path / "comparisons" / "reviews" / "report.html").is_file()


async def test_the_data_screen_previews_a_demo_set_by_mouse_and_escape_keeps_the_data() -> None:
    app = TunewiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, DataScreen))
        data = app.screen
        assert isinstance(data, DataScreen)
        await pilot.click("#demo-sets", offset=(3, 1))  # the second demo set
        await wait_for(pilot, lambda: data.table is not None, timeout=30)
        assert data.path == "demo-qa"
        assert "detected: qa" in _text(data, "#data-detected")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is home)
        assert isinstance(home, HomeScreen) and home.spec.path == "demo"
        await settle(pilot)


async def test_a_bug_in_a_worker_opens_a_modal_with_details_and_the_app_stays_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tunewise.data.task

    def broken(spec: object) -> None:
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(tunewise.data.task, "load_task_data", broken)
    app = TunewiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert modal.error_title == BUG_TITLE
        assert modal.error_message.startswith("RuntimeError: the reader broke")
        assert "Traceback" in modal.details and "broken" in modal.details
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("h")  # still answering keys
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PastComparisonsScreen")
        await settle(pilot)
