"""The advisor's price of fine-tuning on OpenAI's API, against the exact count of the exported file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult


def test_the_estimate_before_export_is_near_the_exact_count_after(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    advice = cli("recommend", "--from-data", "demo-qa", "--no-probe", "--json")
    assert advice.code == 0, advice.err
    hosted = json.loads(advice.out)["hosted_fine_tuning"]
    assert hosted["billed_tokens"] == hosted["file_tokens"] * hosted["epochs"]
    assert hosted["usd"] == pytest.approx(hosted["billed_tokens"] * hosted["price_per_1m_tokens"] / 1e6, abs=1e-4)

    out = tmp_path / "qa.jsonl"
    assert cli("export", "demo-qa", "--out", out).code == 0
    exact = 0
    for path in (out, tmp_path / "qa_validation.jsonl"):  # the estimate covers every example
        exact += json.loads(cli("validate", path, "--json").out)["tokens"]["total"]
    # A different tokenizer (the local model's) and a mean per example: the estimate is for
    # planning, within a factor of 1.5 of the exact count here.
    assert exact / 1.5 <= hosted["file_tokens"] <= exact * 1.5
