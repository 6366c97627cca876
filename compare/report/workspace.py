"""Where a comparison is written: results.json, report.md and report.html, built beside `--out`
and swapped in whole when every arm has finished (`tunewise.atomic`), marked as tunewise's own."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compare.results import Results


def write_reports(folder: Path, results: Results) -> None:
    """results.json, report.md and report.html, into a folder being built."""
    from compare.report.html import html_report
    from compare.report.markdown import markdown_report
    from compare.results import RESULTS_FILE

    (folder / RESULTS_FILE).write_text(results.to_json() + "\n", encoding="utf-8")
    (folder / "report.md").write_text(markdown_report(results), encoding="utf-8")
    (folder / "report.html").write_text(html_report(results), encoding="utf-8")


@contextlib.contextmanager
def workspace(out: Path | None) -> Iterator[Path]:
    """Where the arms write (trained runs) and results.json goes: built beside `--out` and swapped
    in whole when every arm has finished, or a temporary folder when there is no `--out`."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="tunewise-compare-") as folder:
            yield Path(folder)
        return
    from tunewise.atomic import atomic_folder
    from tunewise.locks import writer_lock
    from tunewise.ownership import COMPARISON
    from tunewise.paths import parents_kept_only_on_success

    with parents_kept_only_on_success(out), writer_lock(out, "this comparison"), atomic_folder(out, COMPARISON) as tmp:
        yield tmp
        COMPARISON.mark(tmp)  # last: it lists every file the comparison wrote
