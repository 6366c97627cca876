"""Bad input: one line naming the file (and line or column) and what to do, exit code 2, no
traceback, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_subprocess

# name -> (files to create, extra arguments, words the error must contain)
CASES: dict[str, tuple[dict[str, bytes], list[str], list[str]]] = {
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
}


def _make(tmp_path: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_clear_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    files, args, expected = CASES[case]
    _make(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    result = cli("profile", *args)
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("tunewise: error: ")
    assert "Traceback" not in result.err
    for words in expected:
        assert words in lines[0], f"{words!r} not in {lines[0]!r}"
    assert _snapshot(tmp_path) == before


def test_a_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_bytes(b"{broken\n")
    result = run_subprocess("profile", str(tmp_path / "data.jsonl"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    debug = run_subprocess("--debug", "profile", str(tmp_path / "data.jsonl"))
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr
