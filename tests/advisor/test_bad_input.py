"""Bad input: one line naming the file (and line or column) and what to do, exit code 2, no
traceback, nothing written."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult, run_subprocess
from tunewise.data.formats import read_table
from tunewise.data.shapes import to_dataset
from tunewise.data.task import DataSpec, load_task_data


@dataclass(frozen=True)
class Link:
    """A symbolic link to `target`, made in place of a file."""

    target: str


# Reading it fails with EIO even as root, where file modes do not stop reads.
UNREADABLE = Link("/proc/self/mem")
DEEP = 100_000
HUGE = b"9" * 5000  # past Python's 4,300-digit limit for int()
_rng = random.Random(0)
CONTINUOUS = b"text,label\n" + b"".join(f"reading {i},{_rng.uniform(0, 5):.3f}\n".encode() for i in range(50))
UTF16 = "text,label\n".encode("utf-16-le") + "".join(f"hello {i},{'ab'[i % 2]}\n" for i in range(20)).encode(
    "utf-16-le"
)
WIDE = (",".join(f"column_{i}" for i in range(2000)) + "\n" + ",".join("1" for _ in range(2000)) + "\n").encode()

# name -> (files to create, extra arguments, words the error must contain)
CASES: dict[str, tuple[dict[str, bytes | Link], list[str], list[str]]] = {
    "missing file": ({}, ["nope.csv"], ["nope.csv", "no such file"]),
    "unknown format": ({"data.xlsx": b"PK"}, ["data.xlsx"], ["data.xlsx", "unknown format", "CSV"]),
    "malformed JSON on a line": (
        {"data.jsonl": b'{"prompt": "a", "completion": "b"}\n{"prompt": "x", completion: "y"}\n'},
        ["data.jsonl"],
        ["data.jsonl:2", "malformed JSON", "column"],
    ),
    "malformed JSON array": (
        {"data.json": b'[{"text": "a",\n "label": }]'},
        ["data.json"],
        ["data.json:2", "malformed JSON"],
    ),
    "wrong number of CSV fields": (
        {"data.csv": b"text,label\nhello,a\nhello, world,b\n"},
        ["data.csv"],
        ["data.csv:3", "3 fields", "header has 2", "quote"],
    ),
    "missing columns": ({"data.csv": b"foo,bar\n1,2\n"}, ["data.csv"], ["data.csv", "foo, bar", "--columns"]),
    "misnamed column in the mapping": (
        {"data.csv": b"text,label\na,x\nb,y\n"},
        ["data.csv", "--columns", "label=categry"],
        ["data.csv", "categry", "not a column", "text, label"],
    ),
    "unknown field in the mapping": (
        {"data.csv": b"text,label\na,x\nb,y\n"},
        ["data.csv", "--columns", "lable=label"],
        ["--columns", "lable", "known fields"],
    ),
    "empty data set": ({"data.csv": b"text,label\n"}, ["data.csv"], ["data.csv", "empty"]),
    "only blank rows": ({"data.csv": b"text,label\n ,a\n,b\n"}, ["data.csv"], ["data.csv", "empty", "2 rows"]),
    "empty file": ({"data.jsonl": b""}, ["data.jsonl"], ["data.jsonl", "empty"]),
    "single class": (
        {"data.csv": b"text,label\na,x\nb,x\nc,x\n"},
        ["data.csv"],
        ["data.csv", "single class", "'x'", "label"],
    ),
    "eval labels unseen in train": (
        {"train.csv": b"text,label\na,x\nb,y\nc,x\n", "eval.csv": b"text,label\nd,x\ne,z\n"},
        ["train.csv", "--eval", "eval.csv"],
        ["eval.csv", "'z'", "eval.csv:3", "never occur in training"],
    ),
    "undecodable bytes": (
        {"data.csv": b"text,label\nok,a\ncaf\xe9,b\n"},
        ["data.csv"],
        ["data.csv:3", "0xe9", "column 4", "UTF-8"],
    ),
    "undecodable document": (
        {"docs/a.txt": b"fine", "docs/b.txt": b"line one\nbad \xff byte"},
        ["docs"],
        ["b.txt:2", "0xff", "UTF-8"],
    ),
    "unknown model alias": (
        {"data.csv": b"text,label\na,x\nb,y\nc,x\nd,y\n"},
        ["data.csv", "--model", "minilm-l12"],
        ["unknown model 'minilm-l12'", "tunewise models list"],
    ),
    "chat that does not end with the assistant": (
        {"chat.jsonl": b'{"messages": [{"role": "user", "content": "hi"}]}\n'},
        ["chat.jsonl"],
        ["chat.jsonl:1", "assistant"],
    ),
    "task that does not fit the data": (
        {"data.csv": b"text,label\na,x\nb,y\n"},
        ["data.csv", "--task", "generation"],
        ["data.csv", "--task generation", "labelled"],
    ),
    "folder with nothing readable": ({"empty/readme.bin": b"\x00"}, ["empty"], ["empty", "no .txt or .md"]),
    "bad eval fraction": (
        {"data.csv": b"text,label\na,x\nb,y\n"},
        ["data.csv", "--eval-fraction", "1.5"],
        ["--eval-fraction", "1.5"],
    ),
    "a folder named like a data file": (
        {"data.csv/notes.bin": b"x"},
        ["data.csv"],
        ["data.csv", "folder named like a .csv file", "give the file itself"],
    ),
    "a broken link as the data file": (
        {"data.csv": Link("gone.csv")},
        ["data.csv"],
        ["data.csv: a link to gone.csv, which does not exist", "fix the link"],
    ),
    "a data file that cannot be read": (
        {"data.csv": UNREADABLE},
        ["data.csv"],
        ["data.csv: cannot read the file", "Input/output error", "copy the file"],
    ),
    "a broken link in a documents folder": (
        {"docs/a.txt": b"fine", "docs/b.txt": Link("gone.txt")},
        ["docs"],
        ["b.txt: a link to gone.txt, which does not exist", "fix or remove the link"],
    ),
    "a document that cannot be read": (
        {"docs/a.txt": b"fine", "docs/b.txt": UNREADABLE},
        ["docs"],
        ["b.txt: cannot read the file", "Input/output error"],
    ),
    "JSON array nested 100,000 deep": (
        {"data.json": b"[" * DEEP + b"]" * DEEP},
        ["data.json"],
        ["data.json:1", "nested 100,000 levels deep", "column 100000", "one flat object"],
    ),
    "JSON line nested 100,000 deep": (
        {"data.jsonl": b'{"text": "a", "label": "x"}\n{"text": ' + b"[" * DEEP + b"]" * DEEP + b"}\n"},
        ["data.jsonl"],
        ["data.jsonl:2", "nested 100,001 levels deep", "one flat object"],  # the object, then the arrays
    ),
    "5000-digit label in a JSON array": (
        {"data.json": b'[{"text": "a", "label": 1},\n {"text": "b", "label": ' + HUGE + b"}]"},
        ["data.json"],
        ["data.json:2", "5,000 digits at column 25", "4,300", "in quotes"],
    ),
    "5000-digit label in JSON Lines": (
        {"data.jsonl": b'{"text": "a", "label": 1}\n{"text": "b", "label": ' + HUGE + b"}\n"},
        ["data.jsonl"],
        ["data.jsonl:2", "5,000 digits", "in quotes"],
    ),
    "5000-digit label in a CSV": (
        {"data.csv": b"text,label\na," + HUGE + b"\nb," + HUGE + b"\n"},
        ["data.csv"],
        ["data.csv", "single class", "(5,000 characters)"],
    ),
    "continuous labels": (
        {"data.csv": CONTINUOUS},
        ["data.csv"],
        ["data.csv", "50 different numbers", "look continuous", "regression", "classification needs categories"],
    ),
    "prices as labels": (
        {"data.csv": b"text,label\n" + b"".join(f"house {i},{250_000 + 1_234 * i}\n".encode() for i in range(20))},
        ["data.csv"],
        ["data.csv", "20 different numbers", "look continuous"],
    ),
    "every label once": (
        {"data.csv": b"text,label\nred apple,fruit\nblue car,vehicle\ngreen tree,plant\n"},
        ["data.csv"],
        ["data.csv", "no label has two different examples", "3 labels over 3 examples", "several examples per label"],
    ),
    "UTF-16 without a byte-order mark": (
        {"data.csv": UTF16},
        ["data.csv"],
        ["data.csv", "UTF-16-LE", "without a byte-order mark", "re-save it as UTF-8"],
    ),
    "binary bytes in a text file": (
        {"data.csv": b"text,label\nab\x00\x01\x02cd,x\n"},
        ["data.csv"],
        ["data.csv:2", "NUL byte at column 3", "binary data"],
    ),
    "2,000 unrecognised columns": (
        {"data.csv": WIDE},
        ["data.csv"],
        ["data.csv", "column_0, column_1", "column_7 and 1,992 more", "--columns"],
    ),
    "mapping to a missing column among 2,000": (
        {"data.csv": WIDE},
        ["data.csv", "--columns", "text=column_5,label=nope"],
        ["data.csv", "'nope', which is not a column", "and 1,992 more"],
    ),
}
MAX_MESSAGE = 600  # characters: a message names the problem, it does not dump the data


def _make(tmp_path: Path, files: dict[str, bytes | Link]) -> None:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            if Path(content.target).is_absolute() and not Path(content.target).exists():
                pytest.skip(f"needs {content.target} (Linux), a file that fails to read even as root")
            path.symlink_to(content.target)
        else:
            path.write_bytes(content)


def _snapshot(root: Path) -> dict[str, int]:
    # lstat: a broken link has no target to measure, and is itself what must stay unchanged.
    return {str(p.relative_to(root)): p.lstat().st_size for p in root.rglob("*")}


def _assert_one_error_line(result: CliResult, expected: list[str]) -> None:
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("tunewise: error: ")
    assert "Traceback" not in result.err
    assert len(lines[0]) <= MAX_MESSAGE, f"{len(lines[0])} characters: {lines[0][:200]}..."
    for words in expected:
        assert words in lines[0], f"{words!r} not in {lines[0]!r}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_clear_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    files, args, expected = CASES[case]
    _make(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    result = cli("profile", *args)
    _assert_one_error_line(result, expected)
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="file modes are POSIX")
@pytest.mark.parametrize("where", ["data.csv", "docs/b.txt"])
def test_a_file_without_read_permission(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode; the /proc/self/mem cases cover failed reads there")
    _make(tmp_path, {"data.csv": b"text,label\na,x\nb,y\n", "docs/a.txt": b"fine", "docs/b.txt": b"text"})
    (tmp_path / where).chmod(0)
    monkeypatch.chdir(tmp_path)
    result = cli("profile", where.split("/")[0])
    _assert_one_error_line(result, [f"{where}: cannot read the file (permission denied)", "chmod u+r"])


def test_a_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_bytes(b"{broken\n")
    result = run_subprocess("profile", str(tmp_path / "data.jsonl"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    debug = run_subprocess("--debug", "profile", str(tmp_path / "data.jsonl"))
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


# Answers, flags and training configs: name -> (files to create, arguments, words the error must contain).
# None of these may load a model: they are refused before anything heavy is imported.
COMMAND_CASES: dict[str, tuple[dict[str, bytes | Link], list[str], list[str]]] = {
    "answers saved onto a folder": (
        {"out/keep.txt": b"x"},
        ["recommend", "--save-answers", "out"],
        ["--save-answers out: a folder", "out/answers.yaml"],
    ),
    "answers saved over a file tunewise did not write": (
        {"notes.txt": b"my notes"},
        ["recommend", "--save-answers", "notes.txt"],
        ["--save-answers notes.txt", "not an answers file written by tunewise"],
    ),
    "answers saved under a regular file": (
        {"somefile": b"x"},
        ["recommend", "--save-answers", "somefile/answers.yaml"],
        ["--save-answers somefile/answers.yaml", "somefile is a file, not a folder"],
    ),
    "answers saved under a regular file, before reading data": (
        {"somefile": b"x"},
        ["recommend", "--from-data", "missing.csv", "--save-answers", "somefile/deeper/answers.yaml"],
        ["--save-answers", "somefile is a file, not a folder"],
    ),
    "binary answers file": (
        {"answers.yaml": b"\x00\xff\xfe\x01\x02binary"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml:1", "byte 0xff at column 2", "not UTF-8", "key: value"],
    ),
    "answers file with a NUL byte": (
        {"answers.yaml": b"task: qa\n\x00\x01"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml:2", "U+0000 at column 1", "not allowed in YAML"],
    ),
    "answers file that is a folder": (
        {"answers.yaml/x": b""},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml: a folder, not a file"],
    ),
    "answers file that cannot be read": (
        {"answers.yaml": UNREADABLE},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml: cannot read the answers file", "Input/output error"],
    ),
    "answers file nested too deeply": (
        {"answers.yaml": b"task: " + b"[" * 2000 + b"]" * 2000 + b"\n"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml", "nested too deeply"],
    ),
    "5000-digit number in an answers file": (
        {"answers.yaml": b"task: classification\nn_examples: " + HUGE + b"\n"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml:2", "5,000 digits", "4,300"],
    ),
    "integer too large for a float in an answers file": (
        {"answers.yaml": b"n_examples: 1" + b"0" * 400 + b"\n"},
        ["recommend", "--answers", "answers.yaml"],
        ["n_examples", "1e+400", "above the maximum of 10,000,000,000"],
    ),
    "NaN in an answers file": (
        {"answers.yaml": b"latency_ms: .nan\n"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml:1", "latency_ms", "not a number (NaN)"],
    ),
    "infinity in an answers file": (
        {"answers.yaml": b"budget_usd: .inf\n"},
        ["recommend", "--answers", "answers.yaml"],
        ["answers.yaml:1", "budget_usd", "infinite"],
    ),
    "more labels than examples": (
        {},
        ["recommend", "--n-examples", "20", "--n-labels", "500"],
        ["n_labels is 500", "n_examples is 20", "more labels than examples"],
    ),
    "n_examples 1e30": (
        {},
        ["recommend", "--n-examples", "1e30"],
        ["n_examples: 1e+30 is above the maximum of 10,000,000,000", "check the number"],
    ),
    "n_examples past a float": ({}, ["recommend", "--n-examples", "1e400"], ["--n-examples", "infinite"]),
    "zero labels": ({}, ["recommend", "--n-labels", "0"], ["n_labels: 0", "minimum of 2"]),
    "GPU memory of a cluster": (
        {},
        ["recommend", "--gpu-memory-gb", "80000"],
        ["gpu_memory_gb: 80,000", "maximum of 1,024", "gpu_count"],
    ),
    "number with a unit but no digits": ({}, ["recommend", "--n-examples", "lotsk"], ["--n-examples", "'lotsk'"]),
    "model folder without a config names recommend's flag": (
        {"model/weights.bin": b"x"},
        ["recommend", "--task", "generation", "--base-model", "model"],
        ["model", "no readable config.json", "(--model-params 7e9) for recommend"],
    ),
    "QLoRA with fp32 weights": (
        {},
        ["estimate", "--params", "1e9", "--method", "qlora", "--dtype", "fp32"],
        ["--method qlora with --dtype fp32", "4-bit", "--method lora"],
    ),
    "LoRA with 4-bit weights": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--dtype", "nf4"],
        ["--method lora with --dtype nf4", "--method qlora"],
    ),
    "full fine-tuning of 4-bit weights": (
        {},
        ["estimate", "--params", "1e9", "--method", "full", "--dtype", "nf4"],
        ["--method full with --dtype nf4", "cannot be trained"],
    ),
    "a head with no labels": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--num-labels", "0"],
        ["--num-labels: 0", "at least two labels"],
    ),
    "a head with more labels than examples": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--num-labels", "500", "--n-examples", "20"],
        ["--num-labels 500", "--n-examples 20", "more labels than examples"],
    ),
    "estimate batch size 1e20": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--batch-size", "1e20"],
        ["--batch-size: 1e+20 is above the maximum of 4,096"],
    ),
    "estimate n_examples 1e30": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--n-examples", "1e30"],
        ["--n-examples: 1e+30", "maximum"],
    ),
    "estimate infinite epochs": (
        {},
        ["estimate", "--params", "1e9", "--method", "lora", "--epochs", "inf"],
        ["--epochs", "infinite"],
    ),
    "estimate parameter count past any model": (
        {},
        ["estimate", "--params", "1e30", "--method", "lora"],
        ["--params: 1e+30", "maximum"],
    ),
    "estimate NaN parameters": ({}, ["estimate", "--params", "nan", "--method", "lora"], ["--params: nan", "finite"]),
    "binary training config": (
        {"train.yaml": b"\x00\xff\xfe\x01\x02binary"},
        ["train", "train.yaml"],
        ["train.yaml:1", "byte 0xff", "not UTF-8"],
    ),
    "training config that is a folder": (
        {"train.yaml/x": b""},
        ["train", "train.yaml"],
        ["train.yaml: a folder, not a file"],
    ),
    "5000-digit seed": ({"train.yaml": b"seed: " + HUGE + b"\n"}, ["train", "train.yaml"], ["train.yaml:1", "5,000"]),
    "5000-digit seed override": ({}, ["train", "--set", "seed=" + HUGE.decode()], ["--set seed", "5,000 characters"]),
    "seed past 32 bits": ({}, ["train", "--set", "seed=1e12"], ["seed: 1,000,000,000,000", "32-bit"]),
    "negative seed": ({}, ["train", "--set", "seed=-1"], ["seed: -1 is negative"]),
    "weight decay of 3": ({}, ["train", "--set", "weight_decay=3"], ["weight_decay: 3", "maximum of 1"]),
}
# Every float key of the training config, with NaN and infinity: all comparisons with NaN are false,
# so without an explicit check they pass the range rules and fail after the model has loaded.
for _key in ("num_train_epochs", "learning_rate", "weight_decay", "warmup_ratio", "lora_dropout", "eval_fraction"):
    COMMAND_CASES[f"{_key} .nan"] = (
        {"train.yaml": f"{_key}: .nan\n".encode()},
        ["train", "train.yaml"],
        ["train.yaml", _key, "not a number (NaN)"],
    )
    COMMAND_CASES[f"{_key} .inf"] = (
        {"train.yaml": f"{_key}: .inf\n".encode()},
        ["train", "train.yaml"],
        ["train.yaml", _key, "infinite"],
    )
# Absurd integers in the training config, each with the reason for its bound.
for _key, _value, _why in (
    ("per_device_train_batch_size", "1e20", "gradient_accumulation_steps"),
    ("per_device_eval_batch_size", "100000", "no device holds"),
    ("gradient_accumulation_steps", "1e9", "lower it"),
    ("lora_r", "1e9", "typical ranks"),
    ("lora_alpha", "1e9", "lora_alpha / lora_r"),
    ("num_train_epochs", "1e6", "max_steps"),
    ("max_length", "1e12", "context window"),
    ("max_steps", "1e12", "months of training"),
    ("save_total_limit", "1e9", "full copy on disk"),
):
    COMMAND_CASES[f"{_key} {_value}"] = (
        {"train.yaml": f"{_key}: {_value}\n".encode()},
        ["train", "train.yaml"],
        [f"{_key}: ", "is above the maximum of", _why],
    )

# name -> (arguments, words of the one warning line); the command still succeeds.
WARNING_CASES: dict[str, tuple[list[str], list[str]]] = {
    "fewer than two examples per label": (
        ["recommend", "--n-examples", "20", "--n-labels", "15", "--json"],
        ["n_labels 15 with n_examples 20", "fewer than two examples per label"],
    ),
    "examples longer than the planned length": (
        ["recommend", "--tokens-per-example", "900", "--seq-len", "256", "--json"],
        ["tokens_per_example 900 is above seq_len 256"],
    ),
    "estimate with examples longer than the sequence": (
        ["estimate", "--params", "1e9", "--method", "lora", "--tokens-per-example", "900", "--json"],
        ["--tokens-per-example 900 is above --seq-len 256"],
    ),
}


@pytest.mark.parametrize("case", sorted(COMMAND_CASES))
def test_bad_answers_flags_and_configs_get_one_clear_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    files, args, expected = COMMAND_CASES[case]
    _make(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    _assert_one_error_line(cli(*args), expected)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_unusual_answers_get_one_warning_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    args, expected = WARNING_CASES[case]
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.code == 0, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), result.err
    for words in expected:
        assert words in lines[0], f"{words!r} not in {lines[0]!r}"
    assert list(tmp_path.iterdir()) == []


def test_refusals_load_no_model(tmp_path: Path) -> None:
    (tmp_path / "train.yaml").write_text("num_train_epochs: .nan\n")
    script = (
        "import sys\n"
        "from tui.cli import main\n"
        f"codes = [main(['train', {str(tmp_path / 'train.yaml')!r}]),\n"
        "         main(['estimate', '--params', '1e9', '--method', 'qlora', '--dtype', 'fp32']),\n"
        "         main(['recommend', '--n-examples', '20', '--n-labels', '500'])]\n"
        "print(codes, sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )
    assert result.stdout.strip() == "[2, 2, 2] []", result.stdout + result.stderr


def test_a_csv_field_past_the_csv_modules_default_limit_loads(tmp_path: Path) -> None:
    limit = csv.field_size_limit()
    text = "word " * 40_000  # 200,000 characters: a long document is a legitimate field
    assert len(text) > limit
    path = tmp_path / "docs.csv"
    path.write_text(f'text\n"{text}"\nshort\n', encoding="utf-8")
    assert [row["text"] for row in read_table(path).rows] == [text, "short"]
    assert csv.field_size_limit() == limit  # a process-wide setting: put back


def test_nan_in_json_is_a_missing_value_not_a_class(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    rows = [{"text": "a", "label": "x"}, {"text": "b", "label": float("nan")}, {"text": "c", "label": "y"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")  # pandas writes NaN
    dataset = to_dataset(read_table(path))
    assert dataset.labels() == ["x", "y"]
    assert dataset.empty_rows == [1]


def test_repeating_integer_class_ids_are_categories(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label\n" + "".join(f"utterance number {i},{i % 12}\n" for i in range(48)), encoding="utf-8")
    data = load_task_data(DataSpec(path=str(path)))
    assert data.task == "classification"
    assert len(set(data.dataset.labels() or [])) == 12
