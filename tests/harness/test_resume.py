"""Interrupted runs: `kill -9` mid-epoch, a stop in a later epoch, a disk that fills up mid-save, and resuming."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import build_config
from harness.examples import load_examples_data
from tests.conftest import REPO, CliResult
from tunewise.data.task import TaskData
from tunewise.metrics import classification_metrics


def _train_args(data: Path, out: Path, method: str = "full") -> list[str]:
    sets = {
        "data": data,
        "output_dir": out,
        "method": method,
        "learning_rate": 1e-4,
        "per_device_train_batch_size": 8,
        "max_steps": 16,
        "save_steps": 4,
        "save_total_limit": 5,
        "logging_steps": 2,
    }
    return ["train", "--quiet", *[arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]]


def _launch(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # the same threads in every run: the same sums
    )


def _finish(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


def test_kill_9_mid_epoch_then_resume_matches_an_uninterrupted_run(sentiment_data: Path, tmp_path: Path) -> None:
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    _finish(_launch(_train_args(sentiment_data, reference)))

    process = _launch(_train_args(sentiment_data, interrupted))
    sealed = interrupted.with_name("interrupted.incomplete") / "checkpoints" / "checkpoint-8" / "tunewise-complete"
    deadline = time.monotonic() + 300
    while not sealed.exists():  # step 8 of 16 is mid-epoch (10 steps per epoch)
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not interrupted.exists()

    _finish(_launch([*_train_args(sentiment_data, interrupted), "--resume"]))
    done = json.loads((interrupted / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert done["resumed_from"] in {"checkpoint-8", "checkpoint-12"} and done["steps"] == 16
    assert done["eval"]["accuracy"] == expected["eval"]["accuracy"]
    assert done["eval"]["loss"] == pytest.approx(expected["eval"]["loss"], rel=1e-5)
    predictions = json.loads((interrupted / "result.json").read_text())["predictions"]
    assert predictions == json.loads((reference / "result.json").read_text())["predictions"]


# LoRA, 16 examples a step: 5 steps an epoch, a checkpoint every 2 steps (none rotated away).
LATER_EPOCH = {
    "method": "lora",
    "per_device_train_batch_size": 16,
    "num_train_epochs": 2,
    "save_steps": 2,
    "save_total_limit": 5,
    "logging_steps": 1,
}
STOP_AFTER = 8  # three steps into the second epoch


def _sets(**values: object) -> list[str]:
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def _copy_as_killed_after(step: int, runs: dict[Path, tuple[subprocess.Popen[str], Path]]) -> None:
    """Copy each work folder as a crash right after its checkpoint-`step` was sealed would leave it.

    `runs` maps each work folder to its process and the copy to make; they are watched together, so
    that a fast run cannot finish (and drop its checkpoints) while a slow one is awaited.
    """

    def later_checkpoints(folder: str, names: list[str]) -> list[str]:
        if Path(folder).name != "checkpoints":
            return []
        return [n for n in names if not ((m := re.fullmatch(r"checkpoint-(\d+)", n)) and int(m.group(1)) <= step)]

    pending = dict(runs)
    deadline = time.monotonic() + 300
    while pending:
        for work, (process, copy) in list(pending.items()):
            if (work / "checkpoints" / f"checkpoint-{step}" / "tunewise-complete").exists():
                shutil.copytree(work, copy, ignore=later_checkpoints)
                del pending[work]
            else:
                assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no checkpoint-{step} within 5 minutes"
        time.sleep(0.02)


def _untimed(values: dict[str, Any]) -> dict[str, Any]:
    # Timings differ between any two runs, and `train_loss` averages only the steps its own process
    # trained; every other loss and metric must be the same.
    return {k: v for k, v in values.items() if not k.endswith(("runtime", "per_second")) and k != "train_loss"}


def _logged_after(run: Path, step: int) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in (run / "trainer_log.jsonl").read_text().splitlines()]
    return [_untimed(e) for e in entries if e["step"] > step]


@pytest.mark.parametrize("grouped", [False, True])
def test_each_epoch_order_depends_on_the_seed_and_the_epoch_only(grouped: bool) -> None:
    import torch

    from harness.sampling import epoch_order

    lengths = [(i * 37) % 50 + 1 for i in range(200)] if grouped else None
    torch.manual_seed(0)
    orders = [epoch_order(200, 42, epoch, lengths, group_size=8) for epoch in range(3)]
    torch.manual_seed(1)
    torch.rand(100)  # whatever else drew from the global generator meanwhile
    assert [epoch_order(200, 42, epoch, lengths, group_size=8) for epoch in range(3)] == orders
    assert all(sorted(order) == list(range(200)) for order in orders) and len({tuple(o) for o in orders}) == 3
    # Another seed is another sequence, not this one shifted by an epoch.
    assert epoch_order(200, 43, 0, lengths, group_size=8) not in orders


def test_resume_in_a_later_epoch_matches_an_uninterrupted_run(sentiment_data: Path, tmp_path: Path) -> None:
    def args(metric: str, out: Path) -> list[str]:
        sets = _sets(data=sentiment_data, output_dir=out, metric_for_best_model=metric, **LATER_EPOCH)
        return ["train", "--quiet", *sets]

    # Both metrics' runs side by side (one thread each): the best checkpoint, and with it the
    # final model, depends on the metric.
    metrics = ["accuracy", "eval_loss"]
    references = {m: _launch(args(m, tmp_path / f"{m}-reference")) for m in metrics}
    _copy_as_killed_after(
        STOP_AFTER,
        {
            tmp_path / f"{m}-reference.incomplete": (p, tmp_path / f"{m}-resumed.incomplete")
            for m, p in references.items()
        },
    )
    resumed = {m: _launch([*args(m, tmp_path / f"{m}-resumed"), "--resume"]) for m in metrics}
    for process in [*references.values(), *resumed.values()]:
        _finish(process)

    data = load_examples_data(build_config({"data": str(sentiment_data)}))
    for metric in metrics:
        _assert_resumed_run_matches(tmp_path / f"{metric}-resumed", tmp_path / f"{metric}-reference", data)


def _assert_resumed_run_matches(resumed: Path, reference: Path, data: TaskData) -> None:
    done = json.loads((resumed / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert done["resumed_from"] == f"checkpoint-{STOP_AFTER}" and done["steps"] == expected["steps"] == 10
    assert expected["epochs"] == 2 and done["best_checkpoint_step"] == expected["best_checkpoint_step"]
    assert _untimed(done["eval"]) == pytest.approx(_untimed(expected["eval"]), rel=1e-6), resumed.name
    after, before = _logged_after(resumed, STOP_AFTER), _logged_after(reference, STOP_AFTER)
    assert [sorted(e) for e in after] == [sorted(e) for e in before] and sum("loss" in e for e in after) == 2
    for entry, expected_entry in zip(after, before, strict=True):
        assert entry == pytest.approx(expected_entry, rel=1e-6), f"{resumed.name} at step {entry['step']}"
    result = json.loads((reference / "result.json").read_text())
    assert json.loads((resumed / "result.json").read_text())["predictions"] == result["predictions"]
    # Each prediction stands beside the example its id names: scored in that order, they give the metrics.
    assert result["eval_ids"] == [data.eval.where(i) for i in range(len(data.eval))]
    scored = classification_metrics(data.eval.labels() or [], result["predictions"])
    assert scored == pytest.approx({k: expected["eval"][k] for k in scored}), reference.name


def _failure(write: Callable[[], object]) -> Exception:
    try:
        write()
    except Exception as exc:
        return exc
    raise AssertionError("the write did not fail")


def _wrapped_write_to_dev_full() -> None:
    try:
        with open("/dev/full", "wb", buffering=0) as device:
            device.write(b"weights")
    except OSError as exc:
        raise RuntimeError("saving the checkpoint failed") from exc


def _write_to_dev_full_then_fail_cleaning_up() -> None:
    try:
        with open("/dev/full", "wb", buffering=0) as device:
            device.write(b"weights")
    except OSError:
        json.loads("")  # an error while handling it: the full disk is only its __context__


def test_a_full_disk_is_recognised_in_each_wrapper(tmp_path: Path) -> None:
    import torch

    from tunewise.disk_space import free_bytes, is_disk_full

    for wrapped in (_wrapped_write_to_dev_full, _write_to_dev_full_then_fail_cleaning_up):
        assert is_disk_full(_failure(wrapped), tmp_path, needed=0), wrapped.__name__
    # torch's archive writer keeps no error number: a short write means a full disk only when the
    # disk (here: this one, not /dev/full's) lacks the space the save needs.
    torch_failure = _failure(lambda: torch.save({"w": torch.zeros(10_000)}, "/dev/full"))
    assert type(torch_failure) is RuntimeError and not isinstance(torch_failure, OSError)
    assert is_disk_full(torch_failure, tmp_path, needed=free_bytes(tmp_path) + 1)
    assert not is_disk_full(torch_failure, tmp_path, needed=1)
    # Other failures stay what they are.
    assert not is_disk_full(_failure(lambda: tmp_path.write_bytes(b"")), tmp_path, needed=1 << 60)
    assert not is_disk_full(_failure(lambda: torch.zeros(2) @ torch.zeros(3)), tmp_path, needed=1 << 60)


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _on_a_small_disk(disk: Path, size: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run the shell `script` with a fresh tmpfs of `size` at `disk` (`$0`): a real disk that really fills up.

    The tmpfs lives in a mount namespace of its own and is gone when the script ends.
    """
    if not _unshare_available():
        pytest.skip("needs user and mount namespaces (`unshare -Urm`) to mount a small disk")
    disk.mkdir()
    mounted = f'mount -t tmpfs -o size={size} tmpfs "$0" && {script}'
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mounted, str(disk)],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


SAVE_ON_FULL_DISK = """
import sys
from pathlib import Path

import safetensors.torch
import torch

from tunewise.disk_space import is_disk_full

try:
    safetensors.torch.save_file({"w": torch.zeros(100_000)}, sys.argv[1] + "/w.safetensors")
except Exception as exc:
    print(type(exc).__name__, is_disk_full(exc, Path(sys.argv[1]), needed=0), exc)
"""


def test_safetensors_on_a_full_disk_is_recognised(tmp_path: Path) -> None:
    disk, program = tmp_path / "disk", tmp_path / "save.py"
    program.write_text(SAVE_ON_FULL_DISK)
    done = _on_a_small_disk(disk, "64k", f'"{sys.executable}" "{program}" "$0"')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SafetensorError True "), done.stdout


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Train in-process on one thread, as the subprocess runs do: two spin-waiting threads crawl on a busy CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("method", ["full", "lora"])
@pytest.mark.usefixtures("one_thread")
def test_disk_full_mid_save_keeps_the_last_checkpoint_and_resumes(
    method: str, sentiment_data: Path, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from tunewise.paths import folder_size
    from tunewise.units import human_bytes

    real_save, real_usage = torch.save, shutil.disk_usage
    disk: dict[str, Any] = {"optimizers": 0, "full": False}

    def save_until_the_disk_fills(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if str(f).endswith("optimizer.pt"):
            disk["optimizers"] += 1
            if disk["optimizers"] == 2:  # checkpoint-8: its model files are written, its optimizer is not
                disk["full"] = True
        real_save(obj, "/dev/full" if disk["full"] else f, *args, **kwargs)

    def usage(path: Any) -> Any:
        # /dev/full fails the writes for real; the disk it stands in for has no space left either.
        found = real_usage(path)
        return found._replace(free=0) if disk["full"] and Path(path).is_relative_to(tmp_path) else found

    monkeypatch.setattr(torch, "save", save_until_the_disk_fills)
    monkeypatch.setattr(shutil, "disk_usage", usage)
    out = tmp_path / "full-disk"
    args = [a for a in _train_args(sentiment_data, out, method) if a != "--quiet"]
    result = cli(*args)
    assert result.code == 2, result.err
    message = result.err.strip().splitlines()[-1]
    checkpoints = out.with_name("full-disk.incomplete") / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-4"] and not out.exists()
    needed = human_bytes(folder_size(checkpoints / "checkpoint-4"))
    assert message.startswith("tunewise: error:") and "the disk filled up" in message
    assert "removed the partial checkpoint-8; checkpoint-4 is kept" in message
    assert f"the next save needs about {needed} and 0 B is free" in message and message.endswith("with --resume")

    disk["full"] = False  # the user frees some space
    resumed = cli(*args, "--resume")
    assert resumed.code == 0, resumed.err
    assert json.loads((out / "metrics.json").read_text())["resumed_from"] == "checkpoint-4"


FILL_AT_SECOND_ADAPTER = """
import errno
import os
import sys

import peft.peft_model

from tui.cli import main

real, calls = peft.peft_model.safe_save_file, []


def fill_the_disk():
    with open(os.path.join(os.environ["SMALL_DISK"], "filler"), "wb", buffering=0) as filler:
        while True:
            try:
                filler.write(bytes(1 << 20))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return


def save(*args, **kwargs):
    calls.append(args)
    if len(calls) == 2:  # the adapter of checkpoint-8: from here on, nothing fits on the disk
        fill_the_disk()
    return real(*args, **kwargs)


peft.peft_model.safe_save_file = save
sys.exit(main(sys.argv[1:]))
"""


def test_lora_adapter_on_a_disk_that_fills_up(sentiment_data: Path, tmp_path: Path) -> None:
    disk, report, program = tmp_path / "disk", tmp_path / "report", tmp_path / "fill.py"
    report.mkdir()
    program.write_text(FILL_AT_SECOND_ADAPTER)
    train = " ".join(f'"{a}"' for a in _train_args(sentiment_data, Path("$0/run"), "lora") if a != "--quiet")
    script = f"""
        export SMALL_DISK="$0"
        "{sys.executable}" "{program}" {train} 2> "{report}/first.err"
        echo $? > "{report}/first.code"
        ls -A "$0/run.incomplete/checkpoints" > "{report}/checkpoints"
        test -e "$0/run" && echo published > "{report}/published"
        rm "$0/filler"
        "{sys.executable}" -m tui {train} --resume 2> "{report}/resumed.err"
        echo $? > "{report}/resumed.code"
        cp "$0/run/metrics.json" "{report}/" || true
    """
    done = _on_a_small_disk(disk, "64m", script)
    assert done.returncode == 0, done.stderr
    first = (report / "first.err").read_text()
    assert (report / "first.code").read_text().strip() == "2", first
    message = first.strip().splitlines()[-1]
    assert message.startswith("tunewise: error:") and "the disk filled up" in message, first
    assert "removed the partial checkpoint-8; checkpoint-4 is kept" in message and "about 0 B" not in message
    assert message.endswith("free some space, then rerun with --resume")
    assert (report / "checkpoints").read_text().split() == ["checkpoint-4"]
    assert not (report / "published").exists()
    assert (report / "resumed.code").read_text().strip() == "0", (report / "resumed.err").read_text()
    assert json.loads((report / "metrics.json").read_text())["resumed_from"] == "checkpoint-4"
