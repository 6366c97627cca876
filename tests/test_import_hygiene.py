"""Start-up paths must not import the heavy libraries: a fresh interpreter checks sys.modules."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

HEAVY = ("torch", "transformers", "faiss", "textual", "sentence_transformers", "datasets", "peft", "openai")

CHECK = """
import sys
{body}
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def _loaded_heavy(body: str) -> list[str]:
    code = CHECK.format(body=body, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    marker = [line for line in out.splitlines() if line.startswith("HEAVY=")][-1]
    return [m for m in marker.removeprefix("HEAVY=").split(",") if m]


@pytest.mark.parametrize(
    "body",
    [
        "import tunewise, tunewise.errors, tunewise.models, tunewise.paths, tunewise.atomic, tunewise.locks",
        "import tunewise.names, tunewise.defaults, tunewise.values, tunewise.yaml_files, tunewise.model_files",
        "import tunewise.data, tunewise.data.profile, tunewise.data.task, tunewise.ownership, tunewise.disk_space",
        "import advisor, advisor.recommend, advisor.estimate, advisor.answers, advisor.hardware, advisor.rules",
        "from tui.cli import main\nmain(['recommend', '--n-examples', '500', '--json'])",
        "from tui.cli import main\nmain(['recommend', '--from-data', 'demo', '--no-probe', '--json'])",
        "import tunewise.probes, advisor.expectations",
        # Every module of the core, the advisor and the hosted room, as the import contract says.
        "import importlib, pkgutil\nfor pkg in ('tunewise', 'advisor', 'hosted'):\n"
        "    for info in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)",
        "import compare.advise, compare.results, compare.arms",
        # The comparison room is headless: what the app shows, a script runs without Textual.
        "import compare, compare.runner, compare.judge.summary, compare.report.markdown, compare.report.workspace",
        "from tui.cli import main\nmain(['estimate', '--model', 'llama-2-7b', '--method', 'lora', '--json'])",
        "from tui.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        "from tui.cli import main\n"
        "for cmd in ('profile', 'recommend', 'estimate', 'models', 'generate', 'tui'):\n"
        "    try:\n        main([cmd, '--help'])\n    except SystemExit:\n        pass",
    ],
)
def test_light_paths_import_no_heavy_library(body: str) -> None:
    assert _loaded_heavy(body) == []


def test_help_is_fast() -> None:
    # The budget is 1 s on 2 cores; take the best of three to ignore a cold disk cache.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tui", "--help"], capture_output=True, cwd=REPO, check=True)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0, timings


def test_advice_without_a_probe_is_fast() -> None:
    # `--no-probe` is the answers-only path: reading the demo and ranking stay under a second.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tui", "recommend", "--from-data", "demo", "--no-probe", "--json"],
            capture_output=True,
            cwd=REPO,
            check=True,
        )
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0, timings


FIRST_SCREEN = """
import asyncio, sys, time
start = time.perf_counter()
from tui.app import TunewiseApp
from tui.screens.home import HomeScreen

async def main():
    app = TunewiseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, HomeScreen):
            await pilot.pause(0.01)
        await pilot.pause()
        print(f"SECONDS={time.perf_counter() - start:.3f}", flush=True)
        app.exit()

asyncio.run(main())
"""


def test_the_app_shows_its_first_screen_in_under_two_seconds() -> None:
    timings = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_SCREEN], capture_output=True, text=True, cwd=REPO, check=True, timeout=120
        ).stdout
        timings.append(float(next(line for line in out.splitlines() if line.startswith("SECONDS=")).split("=")[1]))
    assert min(timings) < 2.0, timings
