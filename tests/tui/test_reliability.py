"""What tunewise promises about the user's files: it never replaces what it did not write, never
writes over or into its own inputs, refuses a second writer, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult
from tunewise.locks import writer_lock


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sets(**values: object) -> list[str]:
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def _workspace(root: Path, data: Path) -> None:
    """A user's folder: their data, a precious folder, a notes file, data inside a folder, documents."""
    (root / "data.csv").write_bytes(data.read_bytes())
    (root / "precious").mkdir()
    (root / "precious" / "thesis.txt").write_text("three years of work")
    (root / "notes.txt").write_text("not an index")
    (root / "d").mkdir()
    (root / "d" / "data.csv").write_bytes(data.read_bytes())
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text("A document about retrieval.")


# command -> words the one-line error must contain. Every case must leave the folder untouched.
REFUSED: dict[str, tuple[list[str], list[str]]] = {
    "rag build over a user's folder": (
        ["rag", "build", "data.csv", "--out", "precious"],
        ["--out precious", "not an index written by tunewise"],
    ),
    "rag build over the folder holding its input": (
        ["rag", "build", "d/data.csv", "--out", "d"],
        ["--out d", "would replace", "d/data.csv"],
    ),
    "rag build over its input file": (["rag", "build", "data.csv", "--out", "data.csv"], ["would replace"]),
    "rag build over another file": (["rag", "build", "data.csv", "--out", "notes.txt"], ["is a file"]),
    "rag build into the current folder": (["rag", "build", "data.csv", "--out", "."], ["would replace"]),
    "rag build inside its documents folder": (["rag", "build", "docs", "--out", "docs/index"], ["lies inside"]),
    "rag build with batch size 0": (
        ["rag", "build", "data.csv", "--out", "idx", "--batch-size", "0"],
        ["--batch-size"],
    ),
    "rag eval with k 0": (["rag", "eval", "idx", "--data", "data.csv", "--k", "0"], ["--k must be at least 1"]),
    "rag eval result onto a folder": (
        ["rag", "eval", "idx", "--data", "data.csv", "--out", "precious"],
        ["is a folder"],
    ),
    "rag eval result over its eval data": (
        ["rag", "eval", "idx", "--data", "data.csv", "--out", "data.csv"],
        ["would replace"],
    ),
    "rag eval result over another file": (
        ["rag", "eval", "idx", "--data", "data.csv", "--out", "notes.txt"],
        ["not a result written by tunewise"],
    ),
    "train --overwrite over a user's folder": (
        ["train", "--quiet", *_sets(data="data.csv", output_dir="precious", max_steps=1), "--overwrite"],
        ["precious", "not a run folder written by tunewise"],
    ),
    "train into the folder holding its data": (
        ["train", "--quiet", *_sets(data="d/data.csv", output_dir="d", max_steps=1), "--overwrite"],
        ["would replace", "d/data.csv"],
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_writes_touch_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult], sentiment_data: Path
) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    _workspace(workspace, sentiment_data)
    monkeypatch.chdir(workspace)
    before = _snapshot(workspace)
    args, words = REFUSED[case]
    result = cli(*args)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunewise: error: "), result.err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert _snapshot(workspace) == before
    assert sorted(p.name for p in workspace.iterdir()) == sorted(["data.csv", "precious", "notes.txt", "d", "docs"])


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real LoRA run (two steps) for the merge cases."""
    from harness.config import build_config
    from harness.train import train

    root = tmp_path_factory.mktemp("lora")
    data = root / "data.csv"
    rows = [
        f'"the meal was {w}, visit {i}",{label}' for i in range(8) for w, label in (("great", "pos"), ("awful", "neg"))
    ]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    config = build_config({"data": str(data), "method": "lora", "max_steps": 2, "output_dir": str(root / "run")})
    return train(config).run_dir


def test_merge_never_writes_over_or_into_its_run_or_a_users_folder(
    lora_run: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years")
    run_before, precious_before = _snapshot(lora_run), _snapshot(precious)
    for out, words in (
        (lora_run, "would replace"),
        (lora_run / "merged", "lies inside"),
        (precious, "not a merged model written by tunewise"),
    ):
        result = cli("merge", lora_run, "--out", out)
        assert result.code == 2 and words in result.err and result.err.count("\n") == 1, result
    assert _snapshot(lora_run) == run_before and _snapshot(precious) == precious_before

    merged = tmp_path / "merged"
    assert cli("merge", lora_run, "--out", merged).code == 0
    first = (merged / "model.safetensors").stat().st_mtime_ns
    assert cli("merge", lora_run, "--out", merged).code == 0  # its own earlier output: replaced
    assert (merged / "model.safetensors").stat().st_mtime_ns != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged", "precious"]


def test_a_run_being_written_refuses_a_second_writer(
    sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "run"
    args = ["train", "--quiet", *_sets(data=sentiment_data, output_dir=out, max_steps=1)]
    with writer_lock(out, "this run"):  # as a live `tunewise train` holds it
        for extra in ([], ["--overwrite"], ["--resume"]):
            result = cli(*args, *extra)
            assert result.code == 2, result
            assert f"pid {os.getpid()}" in result.err and "is writing this run now" in result.err
            assert "interrupted" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sentiment.csv"]


def _rag(*args: str | Path, cwd: Path = REPO) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "rag", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_additions_at_once_never_lose_one(tmp_path: Path, sentiment_data: Path) -> None:
    lines = sentiment_data.read_text().splitlines()
    base, extra = tmp_path / "base.csv", tmp_path / "extra.csv"
    base.write_text("\n".join(lines[:61]) + "\n")  # 60 rows
    extra.write_text("\n".join([lines[0], *lines[61:81]]) + "\n")  # 20 rows
    index = tmp_path / "idx"
    index.mkdir()
    build = _rag("build", base, "--out", ".", cwd=index)  # an empty folder, named as the current one
    assert build.communicate(timeout=300) and build.returncode == 0
    adders = [_rag("add", index, extra) for _ in range(2)]
    outcomes = []
    for adder in adders:
        _, err = adder.communicate(timeout=300)
        outcomes.append((adder.returncode, err))
    added = sum(1 for code, _ in outcomes if code == 0)
    assert added >= 1
    for code, err in outcomes:
        assert code == 0 or (code == 2 and "is writing this index now" in err), err
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["counts"]["vectors"] == 60 + 20 * added  # each success counted, none lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.csv", "extra.csv", "idx", "sentiment.csv"]


def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_training_with_a_checkpoint_that_resumes(
    stop: signal.Signals, sentiment_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = [
        "train",
        *_sets(data=sentiment_data, output_dir=out, max_steps=16, save_steps=50, logging_steps=1),
        "--set",
        "per_device_train_batch_size=8",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    log = out.with_name("run.incomplete") / "config.yaml"
    _wait_for(log.exists, process)
    time.sleep(2)  # loading or training, before any scheduled checkpoint (save_steps 50)
    process.send_signal(stop)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tunewise: interrupted: stopped with a checkpoint") and last.endswith("--resume"), err
    checkpoints = list((out.with_name("run.incomplete") / "checkpoints").glob("checkpoint-*/tunewise-complete"))
    assert len(checkpoints) == 1  # saved on the way out, and sealed
    resumed = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--quiet", "--resume"], cwd=REPO, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] == checkpoints[0].parent.name and metrics["steps"] == 16


@pytest.mark.parametrize(
    "stops",
    [(signal.SIGTERM,), (signal.SIGINT,), (signal.SIGTERM, signal.SIGTERM, signal.SIGCONT)],
    ids=["SIGTERM", "Ctrl-C", "make's doubled SIGTERM"],
)
def test_a_stop_signal_mid_build_keeps_the_previous_index(
    stops: tuple[signal.Signals, ...], tmp_path: Path, sentiment_data: Path
) -> None:
    index = tmp_path / "idx"
    first = _rag("build", sentiment_data, "--out", index)
    first.communicate(timeout=300)
    assert first.returncode == 0
    before = _snapshot(index)
    second = _rag("build", sentiment_data, "--out", index)
    _wait_for((tmp_path / ".idx.lock").exists, second)  # the build has begun: it holds the index's lock
    for stop in stops:
        second.send_signal(stop)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 130 and "interrupted" in err.strip().splitlines()[-1], err
    assert "Traceback" not in err
    assert _snapshot(index) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "sentiment.csv"]


def test_an_interrupt_inside_generated_code_still_exits_130(tmp_path: Path) -> None:
    # A stop signal during `import torch` usually lands in code dataclasses builds with exec();
    # CPython then flags the handled KeyboardInterrupt as unhandled and, at the end of
    # `python -m`, kills the process with SIGINT (exit -2) after tunewise has printed its message.
    program = tmp_path / "stopped_program"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import sys\n"
        "from tui import cli\n"
        "from tui.commands import estimate\n"
        "def stopped_in_generated_code(args):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "estimate.run = stopped_in_generated_code\n"
        "sys.argv = ['tunewise', 'estimate', '--model', 'llama-2-7b', '--method', 'lora']\n"
        "cli.run()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-m", program.name], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "tunewise: interrupted; anything half-written was removed"


def test_a_stop_signal_closes_the_app_and_its_training_stops_with_a_checkpoint(
    sentiment_data: Path, tmp_path: Path
) -> None:
    # The app as `tunewise` runs it (headless, on the training screen), stopped the way `make` and
    # `timeout` stop it: SIGTERM twice within a millisecond, then SIGCONT.
    out = tmp_path / "run"
    settings = dict(data=sentiment_data, output_dir=out, max_steps=16, save_steps=50, logging_steps=1)
    program = tmp_path / "app_program"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import functools, sys\n"
        "from textual.app import App\n"
        "from harness.config import build_config\n"
        "from tui import cli\n"
        "from tui.app import TunewiseApp\n"
        "from tui.screens.train import TrainScreen\n"
        f"config = build_config({{}}, {[f'{k}={v}' for k, v in settings.items()]!r})\n"
        "TunewiseApp.run = functools.partialmethod(App.run, headless=True)\n"
        "TunewiseApp.on_mount = lambda self: self.push_screen(TrainScreen(config))\n"
        "sys.argv = ['tunewise']\n"
        "cli.run()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", program.name],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = out.with_name("run.incomplete") / "config.yaml"
    _wait_for(log.exists, process)
    time.sleep(2)  # loading or training, before any scheduled checkpoint
    for stop in (signal.SIGTERM, signal.SIGTERM, signal.SIGCONT):
        process.send_signal(stop)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "tunewise: interrupted: the app was closed by a stop signal; training stopped with a checkpoint and resumes from it"
    ), err
    checkpoints = list((out.with_name("run.incomplete") / "checkpoints").glob("checkpoint-*/tunewise-complete"))
    assert len(checkpoints) == 1, err  # the training stopped at a step and sealed its checkpoint
    resumed = subprocess.run(
        [sys.executable, "-m", "tui", "train", *_sets(**settings), "--quiet", "--resume"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] == checkpoints[0].parent.name and metrics["steps"] == 16
