"""Locks that say who holds them, and leave nothing behind.

Two processes must never write the same run, index or model folder at once: the second one
would publish a folder the first is still filling, or lose the first one's additions. Every
writer therefore holds an advisory lock on a sibling file `.NAME.lock` for as long as it writes.

- `writer_lock` fails at once when another process holds the lock, with a one-line error that
  names the holder (pid, command, since when): a user who started a second `train --resume`
  by mistake learns it immediately instead of getting two half-runs.
- `wait_lock` waits instead: two processes preparing the same built-in model do the work once.

The lock file records its holder and is removed on release. Removing a lock file is only safe
when a process that wins the lock checks that the file it locked is still the one at the path
(another process may have removed it in between); `_acquire` does that check and retries.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tunewise.errors import StorageError

try:  # POSIX only; elsewhere writers are not serialised, but each write stays atomic.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class BusyError(StorageError):
    """Another process is writing the same folder."""

    title = "In use"


def lock_path(target: Path) -> Path:
    """The lock file that guards `target`: a hidden sibling, so it never travels inside the folder."""
    return target.parent / f".{target.name}.lock"


def _holder_text(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder["since"])))
        return f"pid {int(holder['pid'])} ({holder.get('command') or 'tunewise'}) since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _describe_self() -> str:
    args = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:3]]
    return " ".join(a for a in args if a)[:80]


def _acquire(path: Path, *, wait: bool) -> int | None:
    """Lock `path` (created if needed) and return its descriptor; None if busy and not waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
                try:
                    fcntl.flock(fd, flags)
                except BlockingIOError:
                    os.close(fd)
                    return None
            # The previous holder may have removed the file between our open and our lock:
            # then we locked an orphan, and must start again on the file now at the path.
            try:
                same = path.stat().st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _record_holder(fd: int) -> None:
    text = json.dumps({"pid": os.getpid(), "since": time.time(), "command": _describe_self()})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)


def _release(path: Path, fd: int) -> None:
    # Remove first, unlock second: a waiter that wins the orphaned file notices and retries.
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)


@contextlib.contextmanager
def writer_lock(target: Path, what: str = "") -> Iterator[None]:
    """Hold the write lock of `target` for the block, or raise `BusyError` naming the holder."""
    path = lock_path(target)
    fd = _acquire(path, wait=False)
    if fd is None:
        noun = what or "it"
        raise BusyError(
            f"{target}: {_holder_text(path)} is writing {noun} now; wait for it to finish (or stop it), then try again"
        )
    try:
        _record_holder(fd)
        yield
    finally:
        _release(path, fd)


@contextlib.contextmanager
def wait_lock(target: Path) -> Iterator[None]:
    """Hold the write lock of `target` for the block, waiting for another holder to finish first."""
    path = lock_path(target)
    fd = _acquire(path, wait=True)
    assert fd is not None
    try:
        _record_holder(fd)
        yield
    finally:
        _release(path, fd)


def is_locked(target: Path) -> bool:
    """True while some process holds the write lock of `target` (a cheap, racy check for messages)."""
    path = lock_path(target)
    if fcntl is None or not path.exists():
        return False
    fd = _acquire(path, wait=False)
    if fd is None:
        return True
    _release(path, fd)
    return False
