"""A full disk, recognised in whatever wrapper it arrives.

Python raises `OSError(ENOSPC)`, but the libraries that write model files wrap it: safetensors
raises `SafetensorError("... No space left on device (os error 28)")`, and torch's archive
writer raises a bare `RuntimeError` ("PytorchStreamWriter failed writing file ...", or "unexpected
pos ..." with an "iostream error" behind it) that keeps no error number at all. A write failure of
that last kind is only called a full disk when the disk really has too little space left.

No torch import here: the check also serves code that never loads a model.
"""

from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
# The operating system's words for both errors, and Rust's (safetensors) names and numbers for them.
_NO_SPACE_TEXT = re.compile(
    rf"no space left on device|disk quota exceeded|storagefull|quotaexceeded|os error ({errno.ENOSPC}|{errno.EDQUOT})\b",
    re.IGNORECASE,
)
# torch's archive writer when a write comes up short, for whatever reason.
_WRITE_FAILED_TEXT = re.compile(
    r"pytorchstreamwriter failed writing|file write failed|unexpected pos \d+ vs \d+|iostream error", re.IGNORECASE
)


def is_disk_full(exc: BaseException, where: Path, needed: int) -> bool:
    """Whether `exc`, or an error it wraps, means the disk holding `where` ran out of space.

    `needed` is what the failed write was expected to take: a write failure that names no cause
    counts as a full disk only while less than that is free.
    """
    chain = list(_chain(exc))
    if any((isinstance(e, OSError) and e.errno in NO_SPACE) or _NO_SPACE_TEXT.search(str(e)) for e in chain):
        return True
    return any(_WRITE_FAILED_TEXT.search(str(e)) for e in chain) and free_bytes(where) < needed


def free_bytes(where: Path) -> int:
    """Free space for this user on the disk that holds `where` (or would hold it, if it is not there yet)."""
    for folder in [where, *where.parents]:
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or while handling, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
