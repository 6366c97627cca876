"""The README's screenshot of the results screen, made again from scratch.

    python scripts/screenshot_results.py [--out docs/images/results.svg] [--size 120x36]

Runs `tunewise compare --data demo --arms rag,head,full` into a temporary folder (a few minutes
on 2 CPU cores; arms already in the run registry are reused), opens the app's results screen
on it and saves what the terminal shows as SVG (Textual's own screenshot).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def shoot(folder: Path, out: Path, size: tuple[int, int]) -> None:
    from textual.app import App

    from compare.results import Results
    from tui.screens.results import ResultsScreen

    class Shot(App[None]):
        CSS_PATH = str(ROOT / "tui" / "tunewise.tcss")
        TITLE = "tunewise"

        def on_mount(self) -> None:
            self.push_screen(ResultsScreen(Results.load(folder), folder))

    app = Shot()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "results.svg")
    parser.add_argument("--size", default="120x36", help="columns x rows of the terminal (default: 120x36)")
    parser.add_argument("--arms", default="rag,head,full", help="the arms compared (default: rag,head,full)")
    args = parser.parse_args()
    columns, rows = (int(part) for part in args.size.lower().split("x"))
    out = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="tunewise-shot-") as work:
        # Where the app would have put it, so the screen shows the path a user sees, not a temp folder.
        folder = Path("comparisons") / "demo"
        command = [sys.executable, "-m", "tui", "compare", "--data", "demo", "--arms", args.arms, "--out", str(folder)]
        subprocess.run(command, cwd=work, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        os.chdir(work)
        asyncio.run(shoot(folder, out, (columns, rows)))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
