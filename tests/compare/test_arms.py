"""Arms are registered types: a new one is one function and a decorator, and every list of arms
(the command line, `all`, results.json, the report) reads the registry."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compare.arms import ArmContext, arm_names, get_arm, register_arm, unregister_arm
from tests.conftest import CliResult
from tests.tui.test_compare import _pair
from tunewise.results import RunResult


@pytest.fixture
def majority_arm() -> Iterator[str]:
    """A toy arm registered here and nowhere else: it predicts the most common training label."""

    def majority(arm: ArmContext) -> RunResult:
        from tunewise.data.protocol import ids_of
        from tunewise.metrics import classification_metrics
        from tunewise.results import one_at_a_time

        started = time.perf_counter()
        label = Counter(arm.split.train.labels() or []).most_common(1)[0][0]
        setup = time.perf_counter() - started
        predictions, costs = one_at_a_time(lambda _: label, arm.split.test.records)
        gold = arm.split.test.labels() or []
        return RunResult(
            "majority",
            {"label": label},
            ids_of(arm.split.test),
            predictions,
            classification_metrics(gold, predictions),
            {"setup_seconds": setup, "disk_bytes": 0.0, **costs},
        )

    register_arm("majority", tasks={"classification"}, order=5)(majority)
    yield "majority"
    unregister_arm("majority")


def test_a_toy_arm_runs_in_compare_and_lands_in_results_and_the_report(
    majority_arm: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    assert arm_names("classification")[0] == majority_arm and majority_arm not in arm_names("generation")
    train, test = _pair(tmp_path)
    out = tmp_path / "comparison"
    result = cli("compare", "--data", train, "--eval", test, "--arms", "majority,rag", "--no-probe", "--out", out)
    assert result.code == 0, result.err
    saved = json.loads((out / "results.json").read_text())
    arms = {arm["name"]: arm for arm in saved["arms"]}
    assert arms["majority"]["status"] == "ok" and arms["majority"]["metrics"]["accuracy"] == 0.5  # 8 of 16
    assert arms["majority"]["eval_hash"] == arms["rag"]["eval_hash"]  # judged on the same examples
    assert saved["verdict"]["best"] == "rag"
    assert "| `majority` | 0.500 [" in (out / "report.md").read_text()
    assert "majority" in (out / "report.html").read_text()
    # `all` and the error for an unknown arm read the registry too
    refused = cli("compare", "--data", train, "--arms", "nonesuch", "--no-probe")
    assert refused.code == 2 and "choose from majority, prompting, fewshot, rag, head" in refused.err


def test_the_toy_arm_is_gone_once_unregistered() -> None:
    assert "majority" not in arm_names()


def test_every_option_the_advisor_ranks_is_an_arm_with_a_base_score_and_an_expectation() -> None:
    from advisor.expectations import expected_quality
    from advisor.rules import BASE_SCORE
    from tests.advisor.test_expectations import labelled_probe
    from tunewise.names import OPTIONS, TRAINED_OPTIONS
    from tunewise.probes import AnswerSignals, Probe

    labels = expected_quality(labelled_probe(0.8, 0.85, (0.7, 0.8, 0.85)))
    answers = expected_quality(
        Probe(
            "answers",
            300,
            300,
            1.0,
            "h",
            {"embedder": "minilm-l6", "lm": "smollm2-135m-instruct"},
            answers=AnswerSignals(2.0, 40, 0.3, 0.4, 0.1, 0.2, 8),
        )
    )
    for option in OPTIONS:
        arm = get_arm(option)  # a KeyError here: the advisor ranks something compare cannot run
        assert option in BASE_SCORE, option
        expected = {**(labels if arm.serves("classification") else {}), **(answers if arm.serves("generation") else {})}
        assert option in expected, f"{option}: no expectation for the tasks it serves"
        assert (arm.kind == "trained") == (option in TRAINED_OPTIONS), option
