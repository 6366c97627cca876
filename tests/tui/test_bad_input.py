"""Bad input, as a careless or hostile user gives it: one line naming the flag or file, exit 2,
nothing changed on disk; and what tunewise writes stays strict, private and quoted."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tunewise.registry import Registry


def _refused(cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run a command that must be refused; its stderr. argparse refuses with SystemExit(2), tunewise with 2."""
    try:
        result = cli(*args)
    except SystemExit as exit_info:
        assert exit_info.code == 2
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1].startswith("tunewise"), err
        return err.strip().splitlines()[-1]
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunewise: error: "), result.err
    return lines[0]


# ---------------------------------------------------------------------------- the run registry


def _registry_with_rows(path: Path) -> None:
    Registry(path).start("index", "idx", {"a": 1})


def _damage(kind: str, path: Path) -> None:
    if kind == "not a database":
        path.write_text("these are my notes, not a database\n" * 20)
    elif kind == "truncated":
        _registry_with_rows(path)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        data = path.read_bytes()
        path.write_bytes(data[:1500])
    elif kind == "a folder":
        path.mkdir()
    elif kind == "config not JSON":
        _registry_with_rows(path)
        with contextlib.closing(sqlite3.connect(path)) as db, db:  # closed: its write is in the file itself
            db.execute("UPDATE runs SET config = 'not json {'")
    elif kind == "another schema":
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("CREATE TABLE runs (title TEXT, body TEXT)")
            db.execute("INSERT INTO runs VALUES ('mine', 'mine')")


def _snapshot(path: Path) -> object:
    if path.is_dir():
        return sorted(p.name for p in path.iterdir())
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("kind", ["not a database", "truncated", "a folder", "config not JSON", "another schema"])
@pytest.mark.parametrize("command", [("runs", "list"), ("runs", "show", "1")])
def test_a_registry_that_is_not_tunewise_s_is_one_line_and_left_as_it_was(
    cli: Callable[..., CliResult],
    capsys: pytest.CaptureFixture[str],
    private_registry: Path,
    kind: str,
    command: tuple[str, ...],
) -> None:
    _damage(kind, private_registry)
    before = _snapshot(private_registry)
    line = _refused(cli, capsys, *command)
    assert str(private_registry) in line and "TUNEWISE_REGISTRY" in line
    assert _snapshot(private_registry) == before


def test_dev_null_as_the_registry_is_refused(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEWISE_REGISTRY", os.devnull)
    assert "is not a regular file" in _refused(cli, capsys, "runs", "list")
    assert not Path(f"{os.devnull}-wal").exists()


def test_a_home_that_is_a_file_is_refused_before_any_work(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home.txt"
    home.write_text("a file")
    monkeypatch.setenv("TUNEWISE_HOME", str(home))
    monkeypatch.delenv("TUNEWISE_REGISTRY")
    for command in (("runs", "list"), ("compare", "--data", "demo", "--arms", "rag", "--no-probe")):
        assert f"TUNEWISE_HOME {home}: {home} is a file, not a folder" in _refused(cli, capsys, *command)
    assert home.read_text() == "a file"


def test_the_registry_is_private_and_keeps_no_secret(cli: Callable[..., CliResult], private_registry: Path) -> None:
    import sys

    argv = sys.argv
    sys.argv = ["tunewise", "compare", "--set", "hub_token=hf_SECRETVALUE", "--api-key", "sk-SECRETVALUE"]
    try:
        Registry().start("comparison", "demo", {"overrides": ["hub_token=hf_SECRETVALUE", "learning_rate=1e-4"]})
    finally:
        sys.argv = argv
    assert stat.S_IMODE(private_registry.stat().st_mode) == 0o600
    shown = cli("runs", "show", "1", "--json")
    assert shown.code == 0 and "SECRETVALUE" not in shown.out
    run = json.loads(shown.out)
    assert run["config"]["overrides"] == ["hub_token=***", "learning_rate=1e-4"]
    assert "hub_token=*** --api-key ***" in run["command"]


def test_runs_show_filters_terminal_escapes(cli: Callable[..., CliResult]) -> None:
    Registry().start("index", "\x1b]0;pwned\x07\x1b[31mred", {})
    shown = cli("runs", "show", "1")
    assert shown.code == 0 and "\x1b" not in shown.out and "\x07" not in shown.out and "red" in shown.out


# ---------------------------------------------------------------------------- numbers, one rule


@pytest.mark.parametrize(
    "args, flag",
    [
        (("runs", "show", str(2**64)), "ID"),
        (("runs", "list", "--limit", str(2**64)), "--limit"),
        (("compare", "--seed", str(2**32)), "--seed"),
        (("compare", "--seed", "-1"), "--seed"),
        (("compare", "--budget-minutes", "nan"), "--budget-minutes"),
        (("compare", "--validation-fraction", "inf"), "--validation-fraction"),
        (("validate", "x.jsonl", "--price-per-1m-tokens", "nan"), "--price-per-1m-tokens"),
        (("validate", "x.jsonl", "--price-per-1m-tokens", "inf"), "--price-per-1m-tokens"),
        (("recommend", "--budget-hours", "nan"), "budget"),
        (("profile", "demo", "--eval-fraction", "nan"), "--eval-fraction"),
    ],
)
def test_every_number_flag_refuses_what_is_not_a_usable_number(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], args: tuple[str, ...], flag: str
) -> None:
    assert flag in _refused(cli, capsys, *args)


@pytest.mark.parametrize(
    "setting, message",
    [("foo", "--set foo: expected KEY=VALUE"), ("num_train_epochs=1e308", "num_train_epochs: 1e+308 is above")],
)
def test_a_bad_training_key_is_refused_before_any_work_even_without_a_trained_arm(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], tmp_path: Path, setting: str, message: str
) -> None:
    out = tmp_path / "rep"
    line = _refused(cli, capsys, "compare", "--data", "demo", "--arms", "rag", "--set", setting, "--out", out)
    assert message in line
    assert not out.exists() and not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------- files and messages


@pytest.mark.parametrize(
    "make, message",
    [
        (None, "no such file; check the path"),
        ("folder", "is a folder, not a file"),
        ("deep", "JSON nested too deeply to read"),
    ],
)
def test_validate_names_what_is_wrong_with_its_file(
    cli: Callable[..., CliResult], tmp_path: Path, make: str | None, message: str
) -> None:
    target = tmp_path / "train.jsonl"
    if make == "folder":
        target.mkdir()
    elif make == "deep":
        target.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    result = cli("validate", target)
    assert result.code in (1, 2) and message in result.out + result.err
    assert "internal error" not in result.err and "check the disk" not in result.err


def test_an_output_below_a_file_names_the_file(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "afile.txt").write_text("mine")
    line = _refused(cli, capsys, "compare", "--data", "demo", "--arms", "rag", "--out", tmp_path / "afile.txt" / "sub")
    assert f"{tmp_path / 'afile.txt'} is a file, not a folder" in line and "file exists" not in line
    assert (tmp_path / "afile.txt").read_text() == "mine"


def test_a_key_given_twice_in_a_yaml_file_is_refused_naming_both_lines(
    cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("n_examples: 300\ntask: classification\nn_examples: 3000\n")
    line = _refused(cli, capsys, "recommend", "--answers", answers)
    assert f"{answers}:3: n_examples is set twice (first on line 1)" in line


def test_strict_json_has_no_nan() -> None:
    from tunewise import strict_json

    text = strict_json.dumps({"budget_minutes": float("nan"), "scores": [1.0, float("inf")]})
    assert json.loads(text) == {"budget_minutes": None, "scores": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text


# ---------------------------------------------------------------------------- the probe cache


@pytest.mark.parametrize(
    "content",
    [
        '{"kind": "labels", "n_examples": "many", "n_probed": 1, "seconds": 1, "data_hash": "h", "models": {}}',
        "[1, 2, 3]",
        '{"kind": "labels", "n_examples": 1, "n_probed": 1, "seconds": NaN, "data_hash": "h", "models": {}}',
        '{"kind": "labels", "n_examples": 1, "n_probed": 1, "seconds": 1, "data_hash": "h", "models": {}, '
        '"labels": {"n_labels": 2, "accuracy": "high"}}',
        '{"a": ' * 200_000 + "1" + "}" * 200_000,
    ],
    ids=["string count", "top-level list", "NaN", "bad signals", "nested 200,000 deep"],
)
def test_a_damaged_probe_cache_entry_is_measured_again_not_trusted(tmp_path: Path, content: str) -> None:
    from tunewise.probes import Probe, read_cached

    entry = tmp_path / "entry.json"
    entry.write_text(content)
    assert read_cached(entry) is None
    good = Probe("labels", 10, 10, 1.5, "h", {"embedder": "minilm-l6"})
    entry.write_text(json.dumps(good.to_dict()))
    assert read_cached(entry) == good


# ---------------------------------------------------------------------------- the terminal is tunewise's


def _ours(line: str) -> bool:
    """Whether a stderr line is one tunewise prints: a tagged note, a progress line, or an arm's line."""
    from compare.arms import arm_names

    tags = ("warning:", "note:", "data:", "probe:", "arms:", "tunewise:")
    return line.startswith(tags) or any(line.startswith((f"{arm}:", f"{arm}...")) for arm in arm_names())


@pytest.mark.parametrize(
    "args",
    [("recommend", "--from-data", "demo"), ("compare", "--data", "demo", "--arms", "rag,head", "--fresh")],
    ids=["recommend", "compare"],
)
def test_stderr_carries_only_tunewise_s_lines(args: tuple[str, ...]) -> None:
    """Libraries print on import and load (bitsandbytes names a kernel repository it cannot reach
    offline, a newer `kernels` a publisher check it skips): none of it reaches the user unless --debug."""
    from tests.conftest import run_subprocess

    done = run_subprocess(*args)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(_ours(line) for line in lines), done.stderr


def test_recommend_advises_for_this_machine_and_says_so(cli: Callable[..., CliResult]) -> None:
    from advisor.hardware import detect_hardware

    here = cli("recommend", "--n-examples", "2000", "--n-labels", "5", "--json")
    report = json.loads(here.out)
    assert report["hardware_source"] == "this machine"
    assert report["answers"]["cpu_cores"] == detect_hardware().cpu_cores
    planned = json.loads(cli("recommend", "--gpu-memory-gb", "80", "--gpu-count", "1", "--json").out)
    assert planned["hardware"].startswith("1 x 80 GB GPU") and planned["hardware_source"].startswith("as declared")
    defaults = json.loads(cli("recommend", "--no-detect-hardware", "--json").out)
    assert defaults["hardware"].startswith("1 x 24 GB GPU") and defaults["hardware_source"].startswith("the defaults")
    table = cli("recommend", "--n-examples", "2000", "--n-labels", "5")
    assert "(this machine)" in table.out.splitlines()[0] + table.out.splitlines()[1]
