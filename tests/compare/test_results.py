"""results.json is read and written through typed records: a file round-trips unchanged, an
older file loads, and a file of another format or with a wrong field is refused in one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from compare.report.html import html_report
from compare.report.markdown import markdown_report
from compare.results import RESULTS_FORMAT, Results
from tunewise.errors import DataError

FIXTURE = Path(__file__).parents[1] / "tui" / "fixtures" / "results.json"


def _saved() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text(encoding="utf-8")))


def test_a_written_file_reads_back_to_the_same_json() -> None:
    saved = _saved()
    results = Results.from_dict(saved)
    assert results.to_dict() == saved
    assert results.verdict is not None and results.verdict.ship in {arm.name for arm in results.finished}
    head = results.arm("head")
    assert head is not None and head.cost.setup_seconds > 0 and head.ci95["accuracy"][0] <= head.metric("accuracy")


def test_a_file_from_before_the_optional_fields_loads_and_reports() -> None:
    saved = _saved()
    for later in ("probe", "expected", "hardware", "leakage", "budget_minutes"):
        saved.pop(later, None)
    for arm in saved["arms"]:
        arm.pop("curves", None)
        arm.pop("reused_from", None)
    results = Results.from_dict(saved)
    assert results.expected == {} and results.probe is None
    assert "# Comparison" in markdown_report(results)
    assert "<h1>Comparison</h1>" in html_report(results)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.update(format=RESULTS_FORMAT + 1), f"format {RESULTS_FORMAT + 1}, written by tunewise"),
        (lambda d: d.pop("format"), "no format"),
        (lambda d: d["arms"][1]["metrics"].update(accuracy="high"), "arms.1.metrics.accuracy"),
        (lambda d: d["arms"][0].update(status="finished"), "arms.0.status"),
        (lambda d: d["split"].pop("test_hash"), "split.test_hash: Field required"),
        (lambda d: d["arms"][0].update(acuracy=0.5), "arms.0.acuracy: Extra inputs are not permitted"),
        (lambda d: d["test_labels"].pop(), "test_labels holds 149 labels for 150 test examples"),
        (lambda d: d["split"]["ids"]["test"].pop(), "split: Value error, ids.test holds 149 ids for 150 examples"),
        (lambda d: d["arms"][2]["predictions"].pop(), "arms.2.predictions holds 149 for 150 examples"),
    ],
)
def test_a_file_it_cannot_read_is_refused_naming_the_format_or_the_field(
    tmp_path: Path, change: Any, said: str
) -> None:
    saved = copy.deepcopy(_saved())
    change(saved)
    (tmp_path / "results.json").write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(DataError) as refused:
        Results.load(tmp_path)
    message = refused.value.message
    assert message.startswith(str(tmp_path / "results.json")) and said in message and "\n" not in message


def test_a_missing_or_damaged_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        Results.load(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(DataError, match="cannot be read"):
        Results.load(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON object, got list"):
        Results.load(tmp_path)
