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

Writers call these while holding the target's write lock (`tunewise.locks`), so a temporary
sibling they find is a leftover of a crashed writer. Only what tunewise can prove it made is ever
moved or removed: every temporary folder carries a marker (`TEMP_MARKER`) naming its target, and
a journal is obeyed only when both folders it names are marked siblings with tunewise's temporary
names (no separators, no `..`). A folder of the user's that merely looks like a leftover is left
alone.
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

from tunewise import strict_json
from tunewise.errors import ConfigError
from tunewise.locks import BusyError, writer_lock
from tunewise.ownership import TEMP_MARKER, Owned, refusal
from tunewise.paths import absolute

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _default_mode(base: int) -> int:
    """What `open`/`mkdir` would give under the current umask; temp files default to private 0600/0700."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


# A run is built in `NAME.incomplete` (harness.run_folder), the other temporary name a swap may use.
_WORK_SUFFIX = ".incomplete"


def _temp_prefix(final: Path) -> str:
    return f".{final.name}.tmp-"


def _journal(final: Path) -> Path:
    return final.parent / f".{final.name}.swap"


def mark_temp(folder: Path, final: Path) -> None:
    """Label `folder` as tunewise's temporary copy of `final`, so that recovery may move or remove it."""
    (folder / TEMP_MARKER).write_text(json.dumps({"temp_for": final.name}) + "\n", encoding="utf-8")


def _is_our_temp(folder: Path, final: Path) -> bool:
    """Whether `folder` is a real folder (not a link) that tunewise marked as a temporary copy of `final`."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        data = json.loads((folder / TEMP_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("temp_for") == final.name


def _sibling(final: Path, name: object) -> Path | None:
    """The sibling of `final` a journal names, if the name is one of tunewise's temporary names."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    if not (name.startswith(_temp_prefix(final)) or name == final.name + _WORK_SUFFIX):
        return None
    return final.parent / name


def remove_stale_temps(final: Path) -> None:
    """Delete the temporary folders crashed writers left for `final`; call it while holding the lock.

    Only folders with tunewise's marker go: a user's `.NAME.tmp-mywork` stays.
    """
    if not final.parent.is_dir():
        return
    for leftover in final.parent.glob(_temp_prefix(final) + "*"):
        if _is_our_temp(leftover, final):
            shutil.rmtree(leftover, ignore_errors=True)


def _journal_copies(final: Path) -> list[Path] | None:
    """The copies of `final` that its journal names and that survive, new first; None if not ours.

    The journal must name two of tunewise's temporary siblings, and each that exists must carry
    tunewise's marker for `final` (one may be gone: a crash can come before it was made).
    """
    try:
        names = json.loads(_journal(final).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(names, dict):
        return None
    new, holder = _sibling(final, names.get("new")), _sibling(final, names.get("old"))
    if new is None or holder is None:
        return None
    named = [folder for folder in (new, holder) if folder.exists() or folder.is_symlink()]
    if not all(_is_our_temp(folder, final) for folder in named):
        return None
    return [new, holder / "old"]


def recover(final: Path) -> None:
    """Finish or undo a swap that a crash interrupted, then remove temporary leftovers.

    Call it while holding the target's write lock. The journal is written only once the new copy
    is complete, so a missing target is always restored from the new copy when it is there. A
    journal that names anything but tunewise's own marked siblings is not obeyed (and left where
    it is, for a person to look at).
    """
    journal = _journal(final)
    if journal.is_file() and not journal.is_symlink():
        copies = _journal_copies(final)
        if copies is not None:
            if not final.exists() and not final.is_symlink():
                for candidate in copies:  # forward to the new copy, else back to the old one
                    if candidate.is_dir() and not candidate.is_symlink():
                        candidate.replace(final)
                        break
            journal.unlink(missing_ok=True)
    if final.is_dir() and not final.is_symlink():
        (final / TEMP_MARKER).unlink(missing_ok=True)  # published before its marker was taken out
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
    elif _exchange(tmp, final):
        shutil.rmtree(tmp, ignore_errors=True)  # it now holds the old copy
    else:
        _swap_with_journal(tmp, final)
    (final / TEMP_MARKER).unlink(missing_ok=True)


def _swap_with_journal(tmp: Path, final: Path) -> None:
    """Two renames, recorded first in a journal that only names marked siblings of `final`."""
    mark_temp(tmp, final)  # a run's `.incomplete` folder has no marker of its own yet
    holder = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
    mark_temp(holder, final)
    atomic_write_json(_journal(final), {"new": tmp.name, "old": holder.name})
    try:
        final.replace(holder / "old")
        tmp.replace(final)
    finally:
        # Also on Ctrl-C between the renames: put a whole folder back before giving up.
        recover(final)


def _check_replaceable(final: Path, owned: Owned | None) -> None:
    reason = None if owned is None else refusal(final, owned)
    if reason is not None:
        raise ConfigError(f"{final}: {reason}; it was left untouched")


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
    _check_replaceable(final, owned)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
    try:
        tmp.chmod(_default_mode(0o777))
        mark_temp(tmp, final)
        yield tmp
        _fsync_tree(tmp)
        _check_replaceable(final, owned)  # something may have appeared meanwhile
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
    atomic_write_text(path, strict_json.dumps(data, sort_keys=True) + "\n")


def _fsync_tree(root: Path) -> None:
    # Data must be on disk before the rename publishes it, or a power cut could
    # leave a published folder with empty files.
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
