"""The Textual app, driven by a pilot as a person would drive it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.conftest import CliResult
from tui.app import TunewiseApp
from tui.screens.error_modal import ErrorModal
from tui.screens.home import HomeScreen
from tunewise.data.task import DataSpec


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def settle(pilot: Pilot[None]) -> None:
    """Let a screen that was just shown finish mounting before the app exits: Textual's Header
    sets its title in a callback that fails if the app is torn down first."""
    await pilot.pause(0.3)


def _summary(app: TunewiseApp) -> str:
    return str(app.screen.query_one("#data-summary", Static).render())


async def test_home_shows_the_demo_profile_and_models() -> None:
    app = TunewiseApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.report is not None)
        labels = app.screen.query_one("#labels", DataTable)
        assert labels.row_count >= 10
        assert "classification" in _summary(app)
        models = app.screen.query_one("#models", DataTable)
        assert [str(k.value) for k in models.rows] == ["minilm-l6", "smollm2-135m-instruct"]
        await wait_for(pilot, lambda: app.screen.advice is not None)
        advice = str(app.screen.query_one("#advice", Static).render())
        assert f"Recommended: {app.screen.advice['recommended']}" in advice


async def test_bad_data_opens_an_error_modal_and_every_key_then_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the advice pane said "Weighing the options..." for ever, e and a did nothing, and c
    left an empty comparisons/ folder behind."""
    monkeypatch.chdir(tmp_path)
    app = TunewiseApp(DataSpec(path=str(tmp_path / "missing.csv")))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert isinstance(app.screen, ErrorModal)
        assert "missing.csv" in app.screen.error_message
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        advice = str(app.screen.query_one("#advice", Static).render())
        assert "No advice: the data could not be read" in advice
        for key in ("e", "a", "c"):
            shown = len(app._notifications)
            await pilot.press(key)
            await wait_for(pilot, lambda shown=shown: len(app._notifications) > shown)
            assert isinstance(app.screen, HomeScreen)
            latest = list(app._notifications)[-1]
            assert latest.title == "The data could not be read" and "missing.csv" in latest.message
        assert list(tmp_path.iterdir()) == []  # no comparisons/ folder, nothing at all


async def test_prepare_key_prepares_the_selected_model() -> None:
    app = TunewiseApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        app.screen.query_one("#models", DataTable).focus()
        await pilot.press("p")  # the cursor starts on minilm-l6, which is ready at once
        status = app.screen.query_one("#prepare-status", Static)
        await wait_for(pilot, lambda: "ready at" in str(status.render()))
        assert "minilm-l6" in str(status.render())


async def test_quit_key_exits() -> None:
    app = TunewiseApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_train_key_trains_the_advice_and_stop_resumes(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.screens.train import TrainScreen

    monkeypatch.chdir(tmp_path)  # runs/ is created where the app starts
    app = TunewiseApp(DataSpec(path=str(sentiment_data)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, HomeScreen) and (app.screen.advice or {}).get("probe") is not None
        )
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen))
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await wait_for(pilot, lambda: len(screen.losses) >= 1, timeout=120)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.outcome is not None, timeout=120)
        assert screen.outcome is not None and screen.outcome.status == "cancelled"
        assert "Stopped" in str(screen.query_one("#train-stage", Static).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))

        await pilot.press("t")  # the interrupted run is found and resumed, not restarted
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen) and app.screen is not screen)
        resumed = app.screen
        assert isinstance(resumed, TrainScreen) and resumed.resume
        await wait_for(pilot, lambda: resumed.outcome is not None, timeout=300)
        assert resumed.outcome is not None and resumed.outcome.status == "finished", resumed.outcome
        run = Path(resumed.outcome.run_dir)
        run = run if run.is_absolute() else tmp_path / run
        assert (run / "metrics.json").is_file() and run.parent == tmp_path / "runs"
        assert resumed.outcome.metrics["resumed_from"] is not None
        assert "accuracy" in str(resumed.query_one("#train-result", Static).render())


async def test_the_questionnaire_checks_like_the_answers_file_and_its_advice_is_the_commands(
    sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    from textual.widgets import Input, Switch

    from tui.screens.questions import QuestionsScreen

    saved = tmp_path / "answers.yaml"
    app = TunewiseApp(DataSpec(path=str(sentiment_data)))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, HomeScreen) and (app.screen.advice or {}).get("probe") is not None
        )
        home = app.screen
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionsScreen))
        form = app.screen
        assert isinstance(form, QuestionsScreen)
        # Pre-filled from the data: 96 labelled examples, 2 labels.
        assert form.query_one("#field-n_examples", Input).value == str(home.answers.n_examples)  # type: ignore[union-attr]
        assert form.query_one("#field-n_labels", Input).value == "2"

        form.query_one("#field-n_examples", Input).value = "-3"
        await pilot.pause()
        shown = str(form.query_one("#error-n_examples", Static).render())
        await pilot.press("ctrl+a")
        assert isinstance(app.screen, QuestionsScreen)  # not accepted while a field is wrong

        form.query_one("#field-n_examples", Input).value = "96"
        form.query_one("#field-one_off", Switch).value = True
        form.query_one("#field-budget_hours", Input).value = "2"
        form.query_one("#answers-file", Input).value = str(saved)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, saved.is_file)
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await wait_for(pilot, lambda: home.answers is not None and home.answers.one_off)
        await settle(pilot)
        advice = home.advice
    assert advice is not None
    refused = tmp_path / "bad.yaml"
    refused.write_text("n_examples: -3\n")
    command = cli("recommend", "--answers", refused)
    assert command.code == 2 and shown and shown in command.err  # the answers file's own message
    command = cli("recommend", "--from-data", str(sentiment_data), "--answers", saved, "--json")
    assert command.code == 0, command.err
    expected = json.loads(command.out)
    assert advice["recommended"] == expected["recommended"]
    assert any(reason["criterion"] == "one-off use" for row in advice["ranking"] for reason in row["reasons"])
    assert [r["method"] for r in advice["ranking"]] == [r["method"] for r in expected["ranking"]]
    assert [r["score"] for r in advice["ranking"]] == [r["score"] for r in expected["ranking"]]


async def test_past_comparisons_open_to_their_verdict_and_arms(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    from tui.screens.results import PastComparisonsScreen, ResultsScreen

    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    words = {"pos": ["great", "lovely", "superb", "brilliant"], "neg": ["awful", "dreadful", "horrible", "appalling"]}
    train.write_text(
        "text,label\n"
        + "".join(f"the meal was {w} on visit {i},{label}\n" for i in range(6) for label in words for w in words[label])
    )
    test.write_text("text,label\n" + "".join(f"a {w} evening,{label}\n" for label in words for w in words[label]))
    out = tmp_path / "comparison"
    result = cli("compare", "--data", train, "--eval", test, "--arms", "rag,head", "--out", out, "--json")
    assert result.code == 0, result.err
    verdict = json.loads(result.out)["verdict"]

    app = TunewiseApp(DataSpec(path=str(train)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, PastComparisonsScreen))
        history = app.screen.query_one("#history", DataTable)
        assert history.row_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        screen = app.screen
        shown = str(screen.query_one("#verdict", Static).render())
        assert f"Ship {verdict['ship']}." in shown
        arms = screen.query_one("#arms", DataTable)
        assert [str(key.value) for key in arms.rows] == ["rag", "head"]
        assert str((out / "report.html").resolve()) in str(screen.query_one("#report-path", Static).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PastComparisonsScreen))
        await settle(pilot)


async def test_compare_runs_in_the_app_stops_with_a_checkpoint_and_resumes_to_the_results(
    sentiment_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Log

    from tui.screens.results import ResultsScreen
    from tui.screens.run import RunScreen

    monkeypatch.chdir(tmp_path)  # comparisons/ is created where the app starts
    app = TunewiseApp(DataSpec(path=str(sentiment_data)), seeds=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        assert isinstance(run, RunScreen)
        trained = {"full", "lora"}
        await wait_for(pilot, lambda: any(run.states.get(arm) == "running" for arm in trained), timeout=180)
        await pilot.press("s")
        await wait_for(pilot, lambda: not run.running, timeout=180)
        assert run.results is None and "Stopped" in str(run.query_one("#run-stage", Static).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))

        await pilot.press("c")  # the finished arms are reused and the training arm resumes
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen is not run)
        again = app.screen
        assert isinstance(again, RunScreen)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=300)
        log = "\n".join(again.query_one("#run-log", Log).lines)
        assert "same data and settings" in log  # an arm that finished before the stop was not run again
        from tui.widgets.loss_chart import LossChart

        assert again.query_one("#run-loss", LossChart).losses  # the training arm's loss, drawn as it grew
        results = app.screen.results  # type: ignore[attr-defined]
        assert results.verdict.ship in {arm.name for arm in results.arms}
        assert all(arm.status == "ok" for arm in results.arms)
        await settle(pilot)
    assert (tmp_path / "comparisons" / "sentiment" / "report.html").is_file()


async def test_question_mark_shows_and_hides_every_key_of_the_screen() -> None:
    app = TunewiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: bool(app.screen.query("HelpPanel")))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: not app.screen.query("HelpPanel"))
        await settle(pilot)
