"""Shared fixtures: the real data in ../shared (skipped when absent) and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TUNEWISE_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is not there."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"needs {path}: the shared data sets sit beside the repository in CI, not in a fresh clone")
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(scope="session", autouse=True)
def session_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module-scoped fixtures run before the per-test registry below: they record here, never in
    the user's home."""
    previous = os.environ.get("TUNEWISE_REGISTRY")
    os.environ["TUNEWISE_REGISTRY"] = str(tmp_path_factory.mktemp("session-home") / "registry.sqlite")
    yield
    if previous is None:
        os.environ.pop("TUNEWISE_REGISTRY", None)
    else:
        os.environ["TUNEWISE_REGISTRY"] = previous


@pytest.fixture(autouse=True)
def private_registry(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test records its runs in a registry of its own, never the user's."""
    path = tmp_path_factory.mktemp("home") / "registry.sqlite"
    monkeypatch.setenv("TUNEWISE_REGISTRY", str(path))
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `tunewise ARGS` in-process and capture what it prints."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `python -m tui ARGS` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The built-in chat model, converted once into the user's cache (about 40 s the first time)."""
    from tunewise.models import prepare_model

    return prepare_model("smollm2-135m-instruct").path


# ---------------------------------------------------------------------------- small training data

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "brown", "grey"]
ANSWER = "Tunewise says hello."


@pytest.fixture
def fixed_answer_data(tmp_path: Path) -> Path:
    """Prompt/completion pairs that all share one answer: a model that learned anything says it."""
    path = tmp_path / "fixed.jsonl"
    rows = [
        {"prompt": f"Name a thing that is {colour} number {i}.", "completion": ANSWER}
        for i in range(3)
        for colour in COLOURS
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def sentiment_data(tmp_path: Path) -> Path:
    """Two classes any encoder separates after a few steps."""
    path = tmp_path / "sentiment.csv"
    good = ["wonderful", "great", "lovely", "excellent", "fantastic", "delightful", "superb", "brilliant"]
    bad = ["awful", "terrible", "horrible", "dreadful", "disgusting", "miserable", "atrocious", "appalling"]
    lines = ["text,label"]
    for i in range(6):
        lines += [f'"the meal was {w}, visit {i}",positive' for w in good]
        lines += [f'"the meal was {w}, visit {i}",negative' for w in bad]
    path.write_text("\n".join(lines) + "\n")
    return path
