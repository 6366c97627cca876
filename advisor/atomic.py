"""Write folders and files so that a crash or a second process never sees half of them.

The pattern is the classic one: build everything in a temporary sibling on the same file
system, then `os.replace` it into place, which is atomic. A lock file serialises writers
that target the same path, so two processes preparing the same model do the work once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # POSIX only; elsewhere writers are not serialised, but each write stays atomic.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _default_mode(base: int) -> int:
    """What `open`/`mkdir` would give under the current umask; temp files default to private 0600/0700."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _temp_prefix(final: Path) -> str:
    return f".{final.name}.tmp-"


def remove_stale_temps(final: Path) -> None:
    """Delete temporary siblings left by writers that crashed; call it while holding the lock."""
    if not final.parent.is_dir():
        return
    for leftover in final.parent.glob(_temp_prefix(final) + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces `final` only if the block succeeds.

    On an exception the temporary folder is removed and `final` is left as it was.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
    tmp.chmod(_default_mode(0o777))
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists():
            # Two renames: the old folder moves aside, the new one moves in, then the
            # old one is deleted. A crash between them leaves only a stale temp folder.
            trash = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
            final.replace(trash / "old")
            tmp.replace(final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.replace(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode(0o666))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _fsync_tree(root: Path) -> None:
    # Data must be on disk before the rename publishes it, or a power cut could
    # leave a published folder with empty files.
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
