"""The run registry: concurrent writers lose nothing, reuse needs the same key and a live artifact,
and a registry that cannot be written never stops the work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tunewise.registry import Recorder, Registry, data_hash, reuse_key

WRITER = """
import sys
from pathlib import Path
from tunewise.registry import Registry

registry = Registry(Path(sys.argv[1]))
for n in range(int(sys.argv[3])):
    run = registry.start("train", f"writer {sys.argv[2]} run {n}", {"writer": sys.argv[2], "n": n})
    registry.finish(run, "ok", metrics={"accuracy": n / 100})
"""


def test_four_writers_at_once_lose_no_row_and_show_no_lock_error(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(w), "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0 and not err and not out, err
    runs = Registry(path).runs(limit=1000)
    assert len(runs) == 240
    assert {run.status for run in runs} == {"ok"}
    for w in range(4):
        mine = sorted(run.config["n"] for run in runs if run.config["writer"] == str(w))
        assert mine == list(range(60))
    import sqlite3

    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reuse_needs_the_same_key_a_finished_run_and_its_artifact(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.sqlite")
    artifact = tmp_path / "arm"
    artifact.mkdir()
    key = reuse_key("arm", {"arm": "rag", "seed": 42}, "data1")
    assert key != reuse_key("arm", {"arm": "rag", "seed": 43}, "data1")
    assert key != reuse_key("arm", {"arm": "rag", "seed": 42}, "data2")
    running = registry.start("arm", "rag", {"arm": "rag"}, key=key, artifact=str(artifact))
    assert registry.reusable(key) is None  # not finished
    registry.finish(running, "ok", metrics={"accuracy": 0.9})
    found = registry.reusable(key)
    assert found is not None and found.id == running and found.metrics == {"accuracy": 0.9}
    artifact.rmdir()
    assert registry.reusable(key) is None  # its artifact is gone


def test_a_run_whose_process_died_shows_as_interrupted(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.sqlite")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from pathlib import Path; from tunewise.registry import Registry; print(Registry(Path({str(registry.path)!r})).start('train', 'x', {{}}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    run = registry.get(int(child.stdout))
    assert run.status == "running" and run.shown_status == "interrupted"
    mine = registry.start("train", "live", {})
    assert registry.get(mine).shown_status == "running"


def test_recording_marks_failures_and_interruptions(tmp_path: Path) -> None:
    from tunewise.errors import DataError, InterruptionError

    recorder = Recorder(Registry(tmp_path / "registry.sqlite"))
    with recorder.recording("index", "docs", {"k": 5}) as record:
        record["metrics"] = {"size": 3}
    with pytest.raises(DataError), recorder.recording("index", "bad", {}):
        raise DataError("bad.csv: line 3 has no text")
    with pytest.raises(InterruptionError), recorder.recording("train", "stopped", {}):
        raise InterruptionError("stopped with a checkpoint")
    runs = {run.name: run for run in recorder.registry.runs()}
    assert runs["docs"].status == "ok" and runs["docs"].metrics == {"size": 3} and runs["docs"].seconds is not None
    assert runs["bad"].status == "failed" and runs["bad"].reason == "bad.csv: line 3 has no text"
    assert runs["stopped"].status == "interrupted"


def test_an_unwritable_registry_warns_once_and_the_work_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    recorder = Recorder(Registry(blocker / "registry.sqlite"))
    with recorder.recording("index", "a", {}) as record:
        record["metrics"] = {}
    with recorder.recording("index", "b", {}):
        pass
    assert recorder.reusable("anything") is None
    err = capsys.readouterr().err
    assert err.count("warning: the run registry") == 1 and "nothing is recorded" in err


def test_data_hash_follows_the_bytes(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("text,label\na,b\n")
    first = data_hash(str(data))
    assert data_hash(str(data)) == first and data_hash("demo") != first
    data.write_text("text,label\na,c\n")
    assert data_hash(str(data)) != first
