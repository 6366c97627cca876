"""`tunewise compare --docs`: closed-book prompting, RAG over the documents, fine-tuning and both,
on old knowledge and on documents that arrive after the arms were built, on a slice of the
built-in FOLDOC set (real models, real index, real training steps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.tui.test_app import settle, wait_for
from tunewise.data.demo import document_set

FOLDOC = document_set("foldoc")


def _rows(path: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def small_set(tmp_path: Path) -> dict[str, Path]:
    """60 questions about 60 FOLDOC entries (40 to train on, 20 to test), and 8 later entries
    with a question each: a comparison small enough for a test, on the set's own text."""
    train, test = _rows(FOLDOC.train)[:40], _rows(FOLDOC.test)[:20]
    new_questions = _rows(FOLDOC.new_test)[:8]
    asked = {row["doc"] for row in train + test}
    documents = [row for row in _rows(FOLDOC.docs) if row["id"] in asked]
    new_documents = [row for row in _rows(FOLDOC.new_docs) if row["id"] in {q["doc"] for q in new_questions}]
    drop = lambda rows: [{"question": r["question"], "answer": r["answer"]} for r in rows]  # noqa: E731
    return {
        "docs": _write(tmp_path / "docs.jsonl", documents),
        "data": _write(tmp_path / "train.jsonl", drop(train)),
        "eval": _write(tmp_path / "test.jsonl", drop(test)),
        "new_docs": _write(tmp_path / "new-docs.jsonl", new_documents),
        "new_eval": _write(tmp_path / "new-test.jsonl", drop(new_questions)),
    }


def test_bad_document_flags_are_refused_in_one_line(small_set: dict[str, Path], cli: Callable[..., CliResult]) -> None:
    refused = cli("compare", "--docs", small_set["docs"], "--data", small_set["data"], "--new-docs", small_set["docs"])
    assert refused.code != 0 and "--new-docs needs --new-eval" in refused.err and "Traceback" not in refused.err
    refused = cli("compare", "--docs", small_set["docs"])
    assert refused.code != 0 and "--docs needs --data: questions about the documents" in refused.err
    refused = cli("compare", "--docs", small_set["data"], "--data", small_set["data"], "--no-probe")
    assert refused.code != 0 and "train.jsonl: --docs takes documents" in refused.err
    refused = cli("compare", "--docs", small_set["docs"], "--data", "demo", "--no-probe")
    assert refused.code != 0 and "--data takes questions with reference answers" in refused.err
    refused = cli(
        "compare", "--docs", small_set["docs"], "--data", small_set["data"], "--arms", "head", "--no-probe"
    )  # fmt: skip
    assert refused.code != 0 and "head does not answer questions from documents" in refused.err


async def test_rag_over_the_documents_beats_closed_book_and_absorbs_later_knowledge(
    small_set: dict[str, Path], tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    out = tmp_path / "comparison"
    result = cli(
        "compare", "--docs", small_set["docs"], "--data", small_set["data"], "--eval", small_set["eval"],
        "--new-docs", small_set["new_docs"], "--new-eval", small_set["new_eval"], "--arms", "prompting,rag",
        "--prompt-sample", "6", "--choice-sample", "3", "--no-probe", "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    results = json.loads(result.out)
    assert results["task"] == "documents" and results["primary_metric"] == "token_f1"
    arms = {arm["name"]: arm for arm in results["arms"]}
    assert [arm["status"] for arm in arms.values()] == ["ok", "ok"], [arm["reason"] for arm in arms.values()]
    rag, prompting = arms["rag"], arms["prompting"]
    assert rag["metrics"]["token_f1"] > prompting["metrics"]["token_f1"] + 0.2
    assert set(rag["config"]["test_recall"]) == {"dense", "lexical", "hybrid"}
    # Later knowledge: rag indexes it (timed) and answers from it; prompting cannot take it in.
    assert rag["later"]["absorb_seconds"] > 0 and prompting["later"]["absorb_seconds"] is None
    assert rag["later"]["metrics"]["token_f1"] > prompting["later"]["metrics"]["token_f1"] + 0.2
    assert len(rag["later"]["predictions"]) == len(results["later"]["ids"]) == 6  # the later set, sampled
    assert results["later"]["verdict"]["best"] == "rag"
    report = (out / "report.md").read_text()
    assert "## Retrieval over the documents" in report and "## Knowledge that arrived later" in report
    assert "adds the new documents to its index" in report

    # The app's results screen shows the same tables.
    from textual.app import App
    from textual.widgets import Markdown

    from compare.results import Results
    from tui.screens.results import ResultsScreen

    class Shown(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ResultsScreen(Results.load(out), out))

    app = Shown()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#documents")))
        shown = app.screen.query_one("#documents", Markdown)
        await wait_for(pilot, lambda: "Knowledge that arrived later" in str(shown.source))
        assert "hybrid" in shown.source and "cannot" in shown.source
        await settle(pilot)


async def test_the_app_advises_on_documents_and_offers_the_arms_that_read_them(small_set: dict[str, Path]) -> None:
    from compare.plan import DocumentsChoice
    from tui.app import TunewiseApp
    from tui.screens.advice import AdviceScreen
    from tui.screens.home import HomeScreen
    from tunewise.data.task import DataSpec

    app = TunewiseApp(
        DataSpec(str(small_set["data"]), str(small_set["eval"])), documents=DocumentsChoice(str(small_set["docs"]))
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.advice is not None)
        home = app.screen
        assert isinstance(home, HomeScreen)
        await wait_for(pilot, lambda: not home.probing, timeout=180)
        assert home.advice is not None
        assert home.advice["answers"]["n_documents"] == 60  # measured, not asked
        assert home.advice["probe"]["documents"]["recall"]["lexical"] > 0.8
        await pilot.press("a")  # the whole advice
        await wait_for(pilot, lambda: isinstance(app.screen, AdviceScreen))
        advice = app.screen
        assert isinstance(advice, AdviceScreen)
        offered = [name for name, _, _ in advice._arm_choices()]
        assert "lora+docs" in offered and "rag+lora" in offered and "head" not in offered
        plan = home.comparison_plan("rag", [])
        assert plan.docs == str(small_set["docs"])
        await settle(pilot)


@pytest.mark.slow
def test_trained_arms_on_documents_answer_closed_book_or_with_passages(
    small_set: dict[str, Path], tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    training = ["--set", "max_steps=40", "--set", "learning_rate=0.001", "--set", "per_device_train_batch_size=8"]
    result = cli(
        "compare", "--docs", small_set["docs"], "--data", small_set["data"], "--eval", small_set["eval"],
        "--new-docs", small_set["new_docs"], "--new-eval", small_set["new_eval"],
        "--arms", "lora,lora+docs,rag+lora", "--prompt-sample", "6", "--choice-sample", "3", "--no-probe",
        "--seeds", "1", *training, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    results = json.loads(result.out)
    arms = {arm["name"]: arm for arm in results["arms"]}
    assert all(arm["status"] == "ok" for arm in arms.values()), [arm["reason"] for arm in arms.values()]
    # With the passages in its prompt, the trained model copies the expansion; closed book, it cannot.
    assert arms["rag+lora"]["metrics"]["token_f1"] > arms["lora"]["metrics"]["token_f1"] + 0.2
    assert arms["rag+lora"]["later"]["metrics"]["token_f1"] > arms["lora"]["later"]["metrics"]["token_f1"] + 0.2
    assert arms["rag+lora"]["config"]["retriever"] in ("dense", "lexical", "hybrid")
    # Training again on more data costs more: lora+docs reads the documents too.
    assert arms["lora+docs"]["later"]["absorb_seconds"] > arms["lora+docs"]["cost"]["setup_seconds"]
    assert arms["lora"]["later"]["absorb_seconds"] == pytest.approx(arms["lora"]["cost"]["setup_seconds"], rel=0.05)


def test_recommend_counts_the_documents_the_questions_draw_on(
    small_set: dict[str, Path], cli: Callable[..., CliResult]
) -> None:
    result = cli("recommend", "--from-data", small_set["data"], "--docs", small_set["docs"], "--no-probe", "--json")
    assert result.code == 0, result.err
    advice = json.loads(result.out)
    assert advice["answers"]["n_documents"] == 60
    rag = next(row for row in advice["ranking"] if row["method"] == "rag")
    assert any("60 documents" in reason["text"] for reason in rag["reasons"])
    refused = cli("recommend", "--docs", small_set["docs"])
    assert refused.code != 0 and "--docs names the documents the questions of --from-data" in refused.err
