"""Atomic folders, recoverable swaps, ownership and writer locks, on real files and real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO
from tunewise import atomic
from tunewise.atomic import atomic_folder, recover
from tunewise.errors import ConfigError, DataError
from tunewise.locks import BusyError, lock_path, wait_lock, writer_lock
from tunewise.ownership import COMPARISON, INDEX, RUN, Owned, check_target

THING = Owned("a thing", "thing.json")


def _publish(final: Path, text: str, owned: Owned = THING) -> None:
    with atomic_folder(final, owned) as tmp:
        (tmp / "content.txt").write_text(text)
        owned.mark(tmp)


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_folder_is_published_and_replaced_whole_with_nothing_left_beside_it(tmp_path: Path) -> None:
    final = tmp_path / "out"
    _publish(final, "one")
    _publish(final, "two")
    assert (final / "content.txt").read_text() == "two"
    assert _siblings(tmp_path) == ["out"]


def test_a_failure_inside_the_block_keeps_the_old_folder(tmp_path: Path) -> None:
    final = tmp_path / "out"
    _publish(final, "old")
    with pytest.raises(KeyboardInterrupt), atomic_folder(final, THING) as tmp:
        (tmp / "content.txt").write_text("half")
        raise KeyboardInterrupt
    assert (final / "content.txt").read_text() == "old"
    assert _siblings(tmp_path) == ["out"]


def test_only_missing_empty_or_marked_folders_are_replaced(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "thesis.txt").write_text("years of work")
    with pytest.raises(ConfigError, match="is not a thing written by tunewise"):
        _publish(user, "new")
    assert _siblings(user) == ["thesis.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    _publish(empty, "new")
    assert (empty / "content.txt").read_text() == "new"


@pytest.mark.parametrize(
    "make, target, inputs, message",
    [
        ("file", "notes.txt", [], "is a file, not a folder"),
        ("user", "user", [], r"is not an index written by tunewise \(no manifest.json\)"),
        ("data", "d", ["d/data.csv"], "would replace"),
        ("data", "d/data.csv", ["d/data.csv"], "would replace"),
        ("data", "d/index", ["d"], "lies inside"),
        ("data", ".", ["d/data.csv"], "would replace"),
    ],
)
def test_check_target_refuses_what_is_not_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str, target: str, inputs: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "a.txt").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "data.csv").write_text("text,label\n")
    with pytest.raises(ConfigError, match=message):
        check_target(Path(target), INDEX, flag="--out", inputs=inputs)


def test_check_target_accepts_a_sibling_of_the_input_and_names_dot_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "data.csv").write_text("text,label\n")
    monkeypatch.chdir(tmp_path / "d")
    assert check_target(Path("index"), INDEX, flag="--out", inputs=["data.csv"]) == tmp_path / "d" / "index"
    empty = tmp_path / "e"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert check_target(Path(), INDEX, flag="--out") == empty


def test_a_run_written_before_the_marker_is_still_recognised(tmp_path: Path) -> None:
    old_run = tmp_path / "run"
    old_run.mkdir()
    for name in ("config.yaml", "metrics.json", "result.json"):
        (old_run / name).write_text("{}")
    assert RUN.proves(old_run)
    (old_run / "metrics.json").unlink()
    assert not RUN.proves(old_run)


# ---------------------------------------------------------------------------- swaps cut short


def _without_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """File systems without RENAME_EXCHANGE take the journalled two-rename path."""
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)


def test_ctrl_c_between_the_two_renames_still_leaves_a_whole_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "out"
    _publish(final, "old")
    _without_exchange(monkeypatch)
    real_replace = Path.replace
    interrupted: list[Path] = []

    def interrupted_replace(self: Path, target: str | Path) -> Path:
        if Path(target) == final and self.name.startswith(".out.tmp-") and not interrupted:
            interrupted.append(self)
            assert not final.exists()  # the old folder has moved aside; the new one is about to move in
            raise KeyboardInterrupt
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        _publish(final, "new")
    assert interrupted, "the swap never reached its second rename"
    assert (final / "content.txt").read_text() == "new"  # rolled forward: the new copy was complete
    assert _siblings(tmp_path) == ["out"]


@pytest.mark.parametrize("new_survived", [True, False])
def test_the_next_writer_completes_or_rolls_back_a_swap_a_kill_cut_short(tmp_path: Path, new_survived: bool) -> None:
    """The state a `kill -9` between the two renames leaves: the journal, the old copy aside, no target."""
    final = tmp_path / "out"
    aside = tmp_path / ".out.tmp-old1"
    aside.mkdir()
    atomic.mark_temp(aside, final)
    (aside / "old").mkdir()
    (aside / "old" / "content.txt").write_text("old")
    new = tmp_path / ".out.tmp-new1"
    if new_survived:
        new.mkdir()
        atomic.mark_temp(new, final)
        (new / "content.txt").write_text("new")
    (tmp_path / ".out.swap").write_text(json.dumps({"new": new.name, "old": aside.name}))
    with writer_lock(final):
        recover(final)
    assert (final / "content.txt").read_text() == ("new" if new_survived else "old")
    assert _siblings(tmp_path) == ["out"]


def test_a_reader_repairs_an_index_whose_swap_was_cut_short(tmp_path: Path) -> None:
    from rag.index import load_index

    final = tmp_path / "idx"
    for name in (".idx.tmp-new1", ".idx.tmp-old1"):
        (tmp_path / name).mkdir()
        atomic.mark_temp(tmp_path / name, final)
    (tmp_path / ".idx.swap").write_text(json.dumps({"new": ".idx.tmp-new1", "old": ".idx.tmp-old1"}))
    with pytest.raises(Exception, match="not a tunewise index"):  # restored, then checked like any index
        load_index(final)
    assert final.is_dir() and not (tmp_path / ".idx.swap").exists()
    assert not (final / atomic.TEMP_MARKER).exists()


# ---------------------------------------------------------------------------- what is not ours stays put


def _victim(root: Path) -> Path:
    victim = root / "victim"
    victim.mkdir()
    (victim / "thesis.docx").write_text("years of work")
    return victim


@pytest.mark.parametrize(
    "names",
    [
        {"new": "ABSOLUTE", "old": "x"},  # any folder on the machine
        {"new": "../outside/victim", "old": "x"},
        {"new": "victim", "old": "victim"},  # a sibling without tunewise's temporary name
        {"new": ".out.tmp-unmarked", "old": ".out.tmp-unmarked"},  # the name alone proves nothing
    ],
)
def test_a_journal_that_names_anything_but_tunewise_temporaries_moves_nothing(
    tmp_path: Path, names: dict[str, str]
) -> None:
    parent, outside = tmp_path / "work", tmp_path / "outside"
    parent.mkdir()
    outside.mkdir()
    victim = _victim(parent if names["new"] in ("victim", "ABSOLUTE") else outside)
    (parent / ".out.tmp-unmarked").mkdir()
    (parent / ".out.tmp-unmarked" / "draft.txt").write_text("mine")
    names = {key: str(victim) if value == "ABSOLUTE" else value for key, value in names.items()}
    (parent / ".out.swap").write_text(json.dumps(names))
    with writer_lock(parent / "out"):
        recover(parent / "out")
    assert (victim / "thesis.docx").read_text() == "years of work"
    assert not (parent / "out").exists()
    assert (parent / ".out.tmp-unmarked" / "draft.txt").read_text() == "mine"


def test_a_reader_never_moves_a_folder_a_hostile_journal_names(tmp_path: Path) -> None:
    from rag.index import load_index

    victim = _victim(tmp_path)
    (tmp_path / ".qidx.swap").write_text(json.dumps({"new": str(victim), "old": "x"}))
    with pytest.raises(DataError, match="qidx: no such index folder"):
        load_index(tmp_path / "qidx")
    assert (victim / "thesis.docx").exists() and not (tmp_path / "qidx").exists()


def test_a_users_folder_named_like_a_leftover_is_never_removed(tmp_path: Path) -> None:
    mine = tmp_path / ".rep.tmp-mywork"
    mine.mkdir()
    (mine / "draft.txt").write_text("draft")
    crashed = tmp_path / ".rep.tmp-abc123"  # what a crashed writer leaves: marked
    crashed.mkdir()
    atomic.mark_temp(crashed, tmp_path / "rep")
    _publish(tmp_path / "rep", "results")
    assert (mine / "draft.txt").read_text() == "draft"
    assert _siblings(tmp_path) == [".rep.tmp-mywork", "rep"]
    assert _siblings(tmp_path / "rep") == ["content.txt", "thing.json"]  # the temporary marker is gone


def test_a_comparison_is_replaced_only_as_tunewise_left_it(tmp_path: Path) -> None:
    from compare.report.workspace import workspace

    out = tmp_path / "rep"
    for _ in range(2):  # an earlier comparison is replaced
        with workspace(out) as work:
            (work / "results.json").write_text("{}")
            (work / "runs").mkdir()
            (work / "runs" / "metrics.json").write_text("{}")
    (out / "runs" / "mynotes.txt").write_text("notes")
    with pytest.raises(ConfigError, match=r"holds runs/mynotes\.txt, which tunewise did not write"):
        check_target(out, COMPARISON, flag="--out")
    with pytest.raises(ConfigError, match=r"mynotes\.txt"), workspace(out):
        pass
    assert (out / "runs" / "mynotes.txt").read_text() == "notes"
    # results.json with a version key is not proof: only tunewise's marker is
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "results.json").write_text(json.dumps({"tunewise_version": "0.1"}))
    (fake / "thesis.docx").write_text("years of work")
    with pytest.raises(ConfigError, match=r"is not a comparison written by tunewise \(no tunewise-comparison.json\)"):
        check_target(fake, COMPARISON, flag="--out")


# ---------------------------------------------------------------------------- locks


def test_a_second_writer_is_refused_with_the_holder_and_locks_leave_no_file(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with writer_lock(target, "this run"):
        assert lock_path(target).is_file()
        holder = rf"pid {os.getpid()} \(.*\) since \d{{4}}-\d\d-\d\d .* is writing this run"
        with pytest.raises(BusyError, match=holder), writer_lock(target, "this run"):
            pass
    assert not lock_path(target).exists()
    with writer_lock(target):  # free again
        pass
    assert _siblings(tmp_path) == []


def test_wait_lock_serialises_processes(tmp_path: Path) -> None:
    """Two processes append under `wait_lock`: their read-modify-write cycles never interleave."""
    counter = tmp_path / "counter.txt"
    counter.write_text("0")
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from tunewise.locks import wait_lock
        counter = Path({str(counter)!r})
        for _ in range(20):
            with wait_lock(counter):
                value = int(counter.read_text())
                time.sleep(0.005)
                counter.write_text(str(value + 1))
        """
    )
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO) for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    assert counter.read_text() == "40"
    assert not lock_path(counter).exists()
    with wait_lock(counter):
        pass
