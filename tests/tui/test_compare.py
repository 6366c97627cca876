"""`tunewise compare` on a labelled CSV pair: one frozen split, every arm on the same test ids, a verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tunewise.errors import ConfigError

GOOD = ["wonderful", "great", "lovely", "excellent", "fantastic", "delightful", "superb", "brilliant"]
BAD = ["awful", "terrible", "horrible", "dreadful", "disgusting", "miserable", "atrocious", "appalling"]


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    rows = [
        f'"the meal was {w}, visit {i}",{label}'
        for i in range(5)
        for words, label in ((GOOD, "pos"), (BAD, "neg"))
        for w in words
    ]
    train.write_text("text,label\n" + "\n".join(rows) + "\n")
    held = [f'"a {w} evening out",{label}' for words, label in ((GOOD, "pos"), (BAD, "neg")) for w in words]
    test.write_text("text,label\n" + "\n".join(held) + "\n")
    return train, test


def test_compare_scores_every_arm_on_the_same_test_set_and_gives_a_verdict(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    train, test = _pair(tmp_path)
    out = tmp_path / "comparison"
    result = cli("compare", "--data", train, "--eval", test, "--arms", "rag,head", "--out", out, "--json")
    assert result.code == 0, result.err
    printed = json.loads(result.out)
    saved = json.loads((out / "results.json").read_text())
    assert printed == saved
    split = saved["split"]
    assert split["sizes"]["test"] == 16 and split["sizes"]["train"] + split["sizes"]["validation"] == 80
    assert [arm["name"] for arm in saved["arms"]] == ["rag", "head"]
    for arm in saved["arms"]:
        assert arm["status"] == "ok"
        assert arm["eval_hash"] == saved["arms"][0]["eval_hash"]  # the same test examples for every arm
        low, high = arm["ci95"]["accuracy"]
        assert low <= arm["metrics"]["accuracy"] <= high
        assert arm["metrics"]["accuracy"] >= 0.75  # the two classes are easy to tell apart
    verdict = saved["verdict"]
    assert verdict["best"] in {"rag", "head"} and verdict["ship"] in verdict["tied_with_best"]
    report = (out / "report.md").read_text()
    assert report.startswith(f"# Comparison\n\n**Ship `{verdict['ship']}`.**")
    for arm in saved["arms"]:
        assert f"| `{arm['name']}` | {arm['metrics']['accuracy']:.3f} [" in report
    assert split["test_hash"] in report
    assert verdict["advice"] in {"prompting", "rag", "head", "full", "lora", "qlora", "rag+lora"}
    # The advice was fixed on a probe of the training and validation parts, never the test set.
    probe = saved["probe"]
    assert probe["n_examples"] == 80 and probe["labels"]["n_labels"] == 2
    assert {"rag", "head", "full"} <= set(saved["expected"])
    assert "| expected before running |" in report and "on a probe of the 80 training and validation" in report
    # Run again into the same folder: a comparison replaces a comparison.
    assert cli("compare", "--data", train, "--eval", test, "--arms", "head", "--out", out).code == 0
    assert [arm["name"] for arm in json.loads((out / "results.json").read_text())["arms"]] == ["head"]


def test_compare_refuses_unknown_arms_and_a_folder_it_did_not_write(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    train, test = _pair(tmp_path)
    unknown = cli("compare", "--data", train, "--arms", "rag,magic")
    assert unknown.code == 2 and "--arms rag,magic: magic is not an arm compare runs" in unknown.err
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    refused = cli("compare", "--data", train, "--eval", test, "--out", precious)
    assert refused.code == 2 and "not a comparison written by tunewise" in refused.err
    assert sorted(p.name for p in precious.iterdir()) == ["notes.txt"]


def test_a_trained_arm_chooses_on_validation_and_a_failing_arm_does_not_stop_the_others(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = _pair(tmp_path)
    out = tmp_path / "comparison"
    settings = ["--set", "max_steps=6", "--set", "per_device_train_batch_size=8", "--set", "lora_r=4"]
    result = cli(
        "compare", "--data", train, "--eval", test, "--arms", "rag,full,lora", *settings, "--seeds", "2",
        "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    arms = {arm["name"]: arm for arm in json.loads(result.out)["arms"]}
    # lora_r means nothing to full fine-tuning: that arm fails with the harness's own one-line reason.
    assert arms["full"]["status"] == "failed" and "lora_r" in arms["full"]["reason"]
    assert arms["rag"]["status"] == "ok" and arms["lora"]["status"] == "ok"
    assert arms["lora"]["eval_hash"] == arms["rag"]["eval_hash"]
    lora = arms["lora"]["config"]
    assert lora["eval_data"].endswith("validation.jsonl") and lora["lora_r"] == 4  # chosen on validation
    # The arm trains the advisor's config for this data (the learning rate and epochs it would hand
    # out); the user's --set keys win over it.
    from advisor.hyperparameters import epochs_for

    assert lora["learning_rate"] == 5e-4 and lora["num_train_epochs"] == epochs_for(80, n_labels=2)
    assert (Path(lora["output_dir"]) / "metrics.json").is_file()
    assert arms["lora"]["cost"]["disk_bytes"] > 0 and arms["lora"]["cost"]["setup_seconds"] > 0
    assert arms["lora"]["cost"]["setup_work_seconds"] > 0 and arms["rag"]["cost"]["setup_work_seconds"] > 0

    # Two training seeds, each run scored on the same test set; the arm's metrics are their mean.
    seeds = arms["lora"]["seeds"]
    assert [s["seed"] for s in seeds] == [42, 43] and "as --seeds asks" in arms["lora"]["seeds_said"]
    assert seeds[0]["predictions"] == [] and len(seeds[1]["predictions"]) == len(arms["lora"]["predictions"])
    mean = sum(s["metrics"]["accuracy"] for s in seeds) / 2
    assert arms["lora"]["metrics"]["accuracy"] == pytest.approx(mean)
    # Without --seeds, an arm that trains in seconds gets three: the two recorded are reused, one trains.
    again = cli("compare", "--data", train, "--eval", test, "--arms", "lora", *settings, "--json")
    assert again.code == 0, again.err
    (lora_again,) = json.loads(again.out)["arms"]
    assert [s["seed"] for s in lora_again["seeds"]] == [42, 43, 44] and "3 seeds" in lora_again["seeds_said"]
    reused = [s.get("reused_from") for s in lora_again["seeds"]]
    assert reused[0] is not None and reused[1] is not None and reused[2] is None

    # Each of the three trainings recorded the estimator's forecast beside its measure: enough
    # for the advice on this machine to use their ratio for lora on this model (these trainings
    # take seconds, below the floor that keeps such runs out of the ratio: lowered here).
    import advisor.calibration

    monkeypatch.setattr(advisor.calibration, "MIN_SECONDS", 0.0)
    calibration = cli("runs", "calibration", "--json")
    assert calibration.code == 0, calibration.err
    (row,) = [r for r in json.loads(calibration.out) if r["method"] == "lora"]
    assert row["runs"] == 3 and row["used"] and row["time"] > 0 and row["model"] == "minilm-l6"
    advice = cli("recommend", "--from-data", train, "--no-probe", "--detect-hardware", "--json")
    assert advice.code == 0, advice.err
    ranking = {r["method"]: r["estimate"] for r in json.loads(advice.out)["ranking"]}
    assert ranking["lora"]["measured_runs"] == 3 and "from 3 runs here" in ranking["lora"]["notes"][-1]
    assert ranking["full"]["measured_runs"] == 0  # its one run failed: nothing measured


def test_recommended_arms_are_the_advisors_top_runnable_choices_plus_the_cheapest_baseline() -> None:
    from compare.arms import arm_names
    from compare.plan import choose_arms

    ranking = ["lora", "rag+lora", "prompting", "full", "rag", "qlora"]
    assert choose_arms("recommended", ranking) == ["lora", "prompting", "rag"]  # rag+lora answers, not labels
    assert choose_arms("recommended", ranking, task="generation") == ["lora", "rag+lora", "rag"]
    assert choose_arms("recommended", ["rag", "head", "full"]) == ["rag", "head"]
    assert choose_arms("all", ranking) == list(arm_names("classification"))
    assert choose_arms("all", ranking, task="generation") == list(arm_names("generation"))
    # On documents the trained arms that read them, or their passages, join the rest.
    assert choose_arms("all", ranking, task="documents") == [
        "prompting", "rag", "full", "lora", "lora+docs", "qlora", "rag+lora"
    ]  # fmt: skip
    assert "lora+docs" not in arm_names("generation") and "head" not in arm_names("documents")
    assert choose_arms("head, rag,head", ranking) == ["head", "rag"]
    with pytest.raises(ConfigError, match="rag\\+lora answers generation data, and this data asks for labels"):
        choose_arms("rag,rag+lora", ranking)


def test_a_training_arm_that_cannot_finish_in_the_budget_is_skipped_with_its_estimate(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    train, test = _pair(tmp_path)
    result = cli(
        "compare", "--data", train, "--eval", test, "--arms", "rag,full", "--budget-minutes", "0.001", "--json"
    )
    assert result.code == 0, result.err
    arms = {arm["name"]: arm for arm in json.loads(result.out)["arms"]}
    assert arms["rag"]["status"] == "ok"
    assert arms["full"]["status"] == "skipped"
    assert arms["full"]["reason"].startswith("estimated ") and "--budget-minutes 0.001" in arms["full"]["reason"]
    assert not (tmp_path / "arms").exists()
    bad = cli("compare", "--data", train, "--budget-minutes", "0")
    assert bad.code == 2 and "--budget-minutes must be more than 0" in bad.err


def test_a_rerun_reuses_recorded_arms_and_fresh_runs_them_again(
    tmp_path: Path, cli: Callable[..., CliResult], private_registry: Path
) -> None:
    train, test = _pair(tmp_path)
    first = cli("compare", "--data", train, "--eval", test, "--arms", "rag,head", "--json")
    assert first.code == 0, first.err
    again = cli("compare", "--data", train, "--eval", test, "--arms", "head,rag", "--json")
    assert again.code == 0 and again.err.count("(ok, same data and settings)") == 2, again.err
    before = {arm["name"]: arm for arm in json.loads(first.out)["arms"]}
    after = {arm["name"]: arm for arm in json.loads(again.out)["arms"]}
    for name in ("rag", "head"):
        assert after[name]["reused_from"] is not None and before[name]["reused_from"] is None
        assert after[name]["predictions"] == before[name]["predictions"]
        assert after[name]["cost"] == before[name]["cost"]  # the costs measured when it ran
    # Other data is another key: a changed test file runs every arm again.
    test.write_text(test.read_text().replace("a wonderful evening out", "a wonderful night out"))
    changed = cli("compare", "--data", train, "--eval", test, "--arms", "rag", "--json")
    assert "same data and settings" not in changed.err
    fresh = cli("compare", "--data", train, "--eval", test, "--arms", "rag", "--fresh", "--json")
    assert fresh.code == 0 and "same data and settings" not in fresh.err
    listed = cli("runs", "list", "--json")
    runs = json.loads(listed.out)
    assert [run["kind"] for run in runs].count("comparison") == 4
    assert [run["kind"] for run in runs].count("arm") == 4  # two, then one for the changed file, then --fresh
    assert all(run["status"] == "ok" for run in runs)
    latest = next(run for run in runs if run["kind"] == "comparison")
    shown = cli("runs", "show", str(latest["id"]))
    assert shown.code == 0 and "kind: comparison" in shown.out and '"ship": "rag"' in shown.out
    missing = cli("runs", "show", "9999")
    assert missing.code == 2 and "run 9999: no such run" in missing.err


def test_a_folder_of_documents_is_refused_before_any_arm_runs(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("a quiet harbour town\n")
    (folder / "b.txt").write_text("mountain passes in winter\n")
    out = tmp_path / "comparison"
    refused = cli("compare", "--data", folder, "--arms", "rag", "--out", out)
    assert refused.code == 2 and not out.exists()
    assert f"{folder}: holds documents without labels or answers" in refused.err
    assert len(refused.err.strip().splitlines()) == 1


def test_a_test_set_that_is_train_is_refused_and_overlap_below_half_is_scored_apart(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    """Before: `--eval` the training file itself scored 1.000 on every arm with no word anywhere."""
    train, test = _pair(tmp_path)
    refused = cli("compare", "--data", train, "--eval", train, "--arms", "rag", "--no-probe", "--out", tmp_path / "x")
    assert refused.code == 2 and "80 of 80 test examples (100%) also occur in train" in refused.err
    assert "--allow-overlap" in refused.err and not (tmp_path / "x").exists()
    # half of the test set copied from train (8 of 16): run, with the copies scored apart
    rows = train.read_text().splitlines()
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("\n".join([*test.read_text().splitlines()[:9], *rows[1:9]]) + "\n")
    out = tmp_path / "rep"
    result = cli("compare", "--data", train, "--eval", mixed, "--arms", "rag,head", "--no-probe", "--out", out)
    assert result.code == 0, result.err
    assert "data: warning: 8 of 16 test examples (50%) also occur in train (8 exact" in result.err
    saved = json.loads((out / "results.json").read_text())
    leakage = saved["leakage"]
    assert (leakage["exact"], leakage["test_examples"], len(leakage["overlapping_ids"])) == (8, 16, 8)
    for arm in saved["arms"]:
        assert arm["clean"]["examples"] == 8  # the verdict's examples: the 8 never seen in training
    assert "Warning: 8 of 16 test examples also occur in train" in (out / "report.md").read_text()
    assert "also occur in train" in (out / "report.html").read_text()
    # --allow-overlap runs a copy of train, and says the verdict rests on every example
    allowed = cli(
        "compare", "--data", train, "--eval", train, "--arms", "rag", "--no-probe", "--allow-overlap", "--json"
    )
    assert allowed.code == 0, allowed.err
    everything = json.loads(allowed.out)
    assert len(everything["leakage"]["overlapping_ids"]) == 80 and "clean" not in everything["arms"][0]
    from compare.report.markdown import overlap_sentence
    from compare.results import Results

    said = overlap_sentence(Results.from_dict(everything))
    assert "no test example is free of them, so the verdict rests on them all" in said
