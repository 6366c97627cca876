"""The probe on real data and models: what it measures, that it reads only the training part,
and that asking twice is instant."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.probe import run_probe
from tests.conftest import CliResult
from tunewise.data.task import DataSpec, TaskData, load_task_data
from tunewise.probes import Probe, probe_cache


@pytest.fixture(scope="module")
def demo() -> TaskData:
    return load_task_data(DataSpec(path="demo"))


@pytest.fixture(scope="module")
def demo_probe(demo: TaskData, tmp_path_factory: pytest.TempPathFactory) -> Probe:
    import os

    previous = os.environ.get("TUNEWISE_REGISTRY")
    os.environ["TUNEWISE_REGISTRY"] = str(tmp_path_factory.mktemp("probe-home") / "registry.sqlite")
    try:
        return run_probe(demo.train, seed=demo.spec.seed)
    finally:
        if previous is not None:
            os.environ["TUNEWISE_REGISTRY"] = previous


def test_the_demo_probe_measures_what_the_arms_will_do(demo: TaskData, demo_probe: Probe) -> None:
    signals = demo_probe.labels
    assert signals is not None and demo_probe.answers is None
    assert demo_probe.n_examples == demo_probe.n_probed == len(demo.train)  # never the test part
    assert sum(signals.counts.values()) == len(demo.train)
    assert signals.n_labels == len(set(demo.train.labels() or []))
    # Both classifiers are far above always answering the majority class (35% of the demo).
    assert signals.knn_accuracy > signals.majority_share + 0.3
    assert signals.head_accuracy > signals.majority_share + 0.3
    # More data helps a linear head on 18 intents: the curve rises from a quarter to all of it.
    assert signals.curve["1.0"] > signals.curve["0.25"]
    assert signals.knn_k in (1, 3, 5, 10, 20)


def test_a_probe_is_cached_by_the_examples_it_read(demo: TaskData, tmp_path: Path) -> None:
    first = run_probe(demo.train.subset(list(range(120))), seed=1)
    assert not first.cached and (probe_cache() / f"{first.data_hash}.json").is_file()
    started = time.perf_counter()
    again = run_probe(demo.train.subset(list(range(120))), seed=1)
    assert again.cached and time.perf_counter() - started < 1.0
    assert again.labels == first.labels
    other = run_probe(demo.train.subset(list(range(1, 121))), seed=1)
    assert not other.cached and other.data_hash != first.data_hash
    # A damaged cache entry is measured again, never trusted.
    (probe_cache() / f"{first.data_hash}.json").write_text('{"kind": "labels", "n_exam')
    remeasured = run_probe(demo.train.subset(list(range(120))), seed=1)
    assert not remeasured.cached and remeasured.labels == first.labels


def test_conflicting_labels_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "noisy.csv"
    rows = ["text,label"]
    for i in range(20):
        rows += [f"the parcel number {i} arrived broken,complaint", f"thanks for the quick reply {i},praise"]
    rows += ["please refund my order,complaint", "please refund my order,praise", "Please  refund my order,praise"]
    path.write_text("\n".join(rows) + "\n")
    data = load_task_data(DataSpec(path=str(path), eval_fraction=0.1))
    probe = run_probe(data.train)
    assert probe.labels is not None
    in_train = sum("refund" in r["text"] for r in data.train.records)
    assert probe.labels.conflicts == in_train >= 2


def test_answer_data_probe_sees_that_retrieval_already_answers(fixed_answer_data: Path) -> None:
    data = load_task_data(DataSpec(path=str(fixed_answer_data)))
    probe = run_probe(data.train)
    signals = probe.answers
    assert signals is not None and probe.labels is None
    assert signals.nearest_match == 1.0  # every training example shares the one answer
    assert signals.zero_shot_exact == 0.0  # the base model has never heard it
    assert signals.base_loss > 1.0
    assert signals.loss_examples == min(32, len(data.train))


def test_recommend_from_data_shows_the_probe_and_no_probe_skips_it(cli: Callable[..., CliResult]) -> None:
    shown = cli("recommend", "--from-data", "demo", "--detect-hardware")
    assert shown.code == 0, shown.err
    assert "k-NN vote" in shown.out and "linear head" in shown.out and "expected" in shown.out
    skipped = cli("recommend", "--from-data", "demo", "--detect-hardware", "--no-probe", "--json")
    assert skipped.code == 0, skipped.err
    assert '"probe": null' in skipped.out


def test_too_little_data_is_not_probed_and_says_so(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("text,label\n" + "".join(f"item {i},{'ab'[i % 2]}\n" for i in range(14)))
    result = cli("recommend", "--from-data", path)
    assert result.code == 0, result.err
    assert "fewer than 20" in result.err and "nothing a probe can measure" in result.err
    assert "Probe" not in result.out
