"""`tunewise demo --quick`: the whole loop on the built-in data, as the default suite can afford it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_the_quick_demo_profiles_advises_compares_and_writes_the_report(
    tmp_path: Path, cli: Callable[..., CliResult], smollm2: Path
) -> None:
    out = tmp_path / "demo"
    result = cli("demo", "--quick", "--out", out)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == f"report: {(out / 'report.html').resolve()}"
    assert (
        "advice: " in result.err and "; in all " in result.err and " classification examples, 18 labels " in result.err
    )
    results = json.loads((out / "results.json").read_text())
    arms = {arm["name"]: arm for arm in results["arms"]}
    assert list(arms)[:3] == ["prompting", "rag", "head"] and len(arms) == 4
    assert all(arm["status"] == "ok" for arm in arms.values()), [arm["reason"] for arm in arms.values()]
    assert arms["prompting"]["examples"] == 12 and arms["rag"]["examples"] == results["split"]["sizes"]["test"]
    assert arms["rag"]["metrics"]["accuracy"] > 0.5  # 18 topics: far above chance
    assert results["verdict"]["ship"] in arms
    assert (out / "report.html").read_text().count("<img") >= 3
    # The trained arm trains in seconds, so with three seeds: their spread is in the report.
    (trained,) = [arm for name, arm in arms.items() if name not in ("prompting", "rag", "head")]
    assert len(trained["seeds"]) == 3 and "3 seeds" in trained["seeds_said"]
    assert "per training seed" in (out / "report.md").read_text()
    again = cli("demo", "--quick", "--out", out)  # every arm and seed recorded: the second run reuses them all
    assert again.code == 0 and again.err.count("same data and settings") == 6, again.err
