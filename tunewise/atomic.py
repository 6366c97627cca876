"""Write folders and files so that a crash or a second process never sees half of them.

A folder is built in a temporary sibling on the same file system, flushed to disk, and then
put in place:

- when nothing is at the target, by one `rename`, which is atomic;
- when an older copy is there, by exchanging the two folders in one `renameat2(RENAME_EXCHANGE)`
  call (Linux), after which the old copy sits in the temporary name and is deleted;
- where the exchange is not available, by two renames recorded in a journal (`.NAME.swap`)
  written before the first one. A crash between the two renames leaves the journal behind, and
  `recover` (run by the next writer, or the next reader that finds the target missing) rolls the
  swap forward with the new copy or back to the old one.

Writers call these while holding the target's write lock (`tunewise.locks`), so any temporary
sibling they find is a leftover of a crashed writer and is removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunewise.errors import ConfigError
from tunewise.locks import BusyError, writer_lock
from tunewise.ownership import Owned, may_replace
from tunewise.paths import absolute

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _default_mode(base: int) -> int:
    """What `open`/`mkdir` would give under the current umask; temp files default to private 0600/0700."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _temp_prefix(final: Path) -> str:
    return f".{final.name}.tmp-"


def _journal(final: Path) -> Path:
    return final.parent / f".{final.name}.swap"


def remove_stale_temps(final: Path) -> None:
    """Delete temporary siblings left by writers that crashed; call it while holding the lock."""
    if not final.parent.is_dir():
        return
    for leftover in final.parent.glob(_temp_prefix(final) + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def recover(final: Path) -> None:
    """Finish or undo a swap that a crash interrupted, then remove temporary leftovers.

    Call it while holding the target's write lock. The journal is written only once the new copy
    is complete, so a missing target is always restored from the new copy when it is there.
    """
    journal = _journal(final)
    if journal.is_file():
        try:
            names = json.loads(journal.read_text(encoding="utf-8"))
            new, old = final.parent / str(names["new"]), final.parent / str(names["old"])
        except (OSError, ValueError, KeyError, TypeError):
            new = old = final  # an unreadable journal names nothing to restore
        if not final.exists():
            for candidate in (new, old):  # forward to the new copy, else back to the old one
                if candidate != final and candidate.is_dir():
                    candidate.replace(final)
                    break
        journal.unlink(missing_ok=True)
    remove_stale_temps(final)


def recover_if_idle(final: Path) -> None:
    """For readers: repair an interrupted swap at `final`, unless a writer is at work on it now."""
    if final.exists() or not _journal(final).is_file():
        return
    with contextlib.suppress(BusyError), writer_lock(final):
        recover(final)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing has changed)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_into_place(tmp: Path, final: Path) -> None:
    """Put the complete folder `tmp` at `final`, replacing what is there without a gap when possible.

    The caller holds the write lock of `final` and has checked that what is there may go.
    """
    if not final.exists():
        tmp.replace(final)
        return
    if _exchange(tmp, final):
        shutil.rmtree(tmp, ignore_errors=True)  # it now holds the old copy
        return
    journal = _journal(final)
    old = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent)) / "old"
    atomic_write_json(journal, {"new": tmp.name, "old": str(old.relative_to(final.parent))})
    try:
        final.replace(old)
        tmp.replace(final)
    finally:
        # Also on Ctrl-C between the renames: put a whole folder back before giving up.
        recover(final)


@contextlib.contextmanager
def atomic_folder(final: Path, owned: Owned | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder that replaces `final` only if the block succeeds.

    `owned` names the kind of folder that may be replaced; anything else found at `final` is
    refused (None: `final` is in tunewise's own cache and any leftover there may go). On an
    exception the temporary folder is removed and `final` is left as it was. Hold the write lock
    of `final` around this.
    """
    final = absolute(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover(final)
    if owned is not None and not may_replace(final, owned):
        raise ConfigError(f"{final}: exists and is not {owned.what} written by tunewise; it was left untouched")
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
    try:
        tmp.chmod(_default_mode(0o777))
        yield tmp
        _fsync_tree(tmp)
        if owned is not None and not may_replace(final, owned):  # something appeared meanwhile
            raise ConfigError(f"{final}: exists and is not {owned.what} written by tunewise; it was left untouched")
        swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode(0o666))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


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
