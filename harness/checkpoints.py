"""Checkpoints that are either whole or ignored.

The Trainer writes a checkpoint file by file into `checkpoint-N/`; a crash or a full disk
part-way leaves a folder that looks like a checkpoint and is not. Each checkpoint is sealed
with a marker once its files are on disk, and resuming only ever trusts sealed ones: an
unsealed folder is removed before training continues.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tunewise.atomic import atomic_write_text

SEAL = "tunewise-complete"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def seal(folder: Path) -> None:
    """Flush every file of a finished checkpoint to disk, then mark it complete."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    atomic_write_text(folder / SEAL, "ok\n")


def checkpoints(root: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def is_sealed(folder: Path) -> bool:
    return (folder / SEAL).is_file()


def latest_sealed(root: Path) -> Path | None:
    sealed = [path for _, path in checkpoints(root) if is_sealed(path)]
    return sealed[-1] if sealed else None


def remove_unsealed(root: Path) -> list[Path]:
    """Delete checkpoints that were never completed; return what was removed."""
    removed = []
    for _, path in checkpoints(root):
        if not is_sealed(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
