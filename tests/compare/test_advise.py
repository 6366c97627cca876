"""The one advice pipeline: data and answers, then the probe, then the ranking; what `recommend`,
the app and `compare` call, so that the same data gives the same advice in each."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from compare.advise import Advice, advise
from tests.conftest import CliResult
from tunewise.data.task import DataSpec, load_task_data


def _tickets(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.csv"
    rows = ["text,label"]
    for i in range(30):
        rows += [f"my parcel {i} arrived broken and late,complaint", f"thank you for the quick help {i},praise"]
        rows += [f"where is order number {i}?,question"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_first_advice_comes_before_the_probe_and_the_last_rests_on_it(tmp_path: Path) -> None:
    data = load_task_data(DataSpec(path=str(_tickets(tmp_path))))
    seen: list[Advice] = []
    stages: list[str] = []
    advice = advise(data, before_probe=seen.append, progress=lambda stage, _: stages.append(stage))
    assert len(seen) == 1 and seen[0].probe is None and seen[0].profile is not None
    assert stages, "the probe reported no progress"
    assert advice.probe is not None and advice.probe.labels is not None and advice.probe.labels.n_labels == 3
    assert advice.test_size == len(data.eval)
    assert advice.recommendation.probe is advice.probe  # the ranking read what the probe measured
    assert advice.recommended == advice.recommendation.ranking[0].method
    assert advise(data, probe=False).probe is None


def test_answers_alone_give_advice_without_data() -> None:
    advice = advise(None, detect_hardware=False, flags={"task": "classification", "n_examples": 5000})
    assert advice.profile is None and advice.probe is None and advice.test_size is None
    assert advice.answers.n_examples == 5000


def test_recommend_and_compare_give_the_same_advice(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    data = str(_tickets(tmp_path))
    recommended = cli("recommend", "--from-data", data, "--json")
    assert recommended.code == 0, recommended.err
    compared = cli("compare", "--data", data, "--arms", "head", "--json")
    assert compared.code == 0, compared.err
    assert json.loads(compared.out)["verdict"]["advice"] == json.loads(recommended.out)["recommended"]
