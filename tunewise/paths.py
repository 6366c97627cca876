"""Where tunewise keeps what it writes outside the user's project."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def cache_dir() -> Path:
    """The root of tunewise's cache: `$TUNEWISE_HOME`, else `$XDG_CACHE_HOME/tunewise`, else `~/.cache/tunewise`."""
    explicit = os.environ.get("TUNEWISE_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tunewise"


def check_home() -> None:
    """Refuse a cache root that cannot be a folder (it, or a folder above it, is a file), before
    any work: otherwise the first write into it fails after minutes of training."""
    from tunewise.errors import ConfigError

    home = cache_dir()
    named = f"TUNEWISE_HOME {home}" if os.environ.get("TUNEWISE_HOME") else str(home)
    for folder in (home, *home.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(
                    f"{named}: {folder} is a file, not a folder; set TUNEWISE_HOME to a folder tunewise can create"
                )
            return


def models_dir() -> Path:
    """Converted and prepared model folders, one per alias."""
    return cache_dir() / "models"


def hub_offline() -> bool:
    """True when the user asked the Hugging Face libraries to stay off the network."""
    value = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def folder_size(path: Path) -> int:
    """Total bytes of the regular files under `path` (0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def absolute(path: Path | str) -> Path:
    """`path` made absolute with `.` and `..` folded away, without following symbolic links.

    Writers need a real final name (`--out .` must name the folder, not `.`), but must not
    silently retarget a symlink the way `Path.resolve()` would.
    """
    return Path(os.path.abspath(Path(path).expanduser()))  # noqa: PTH100 - lexical on purpose


@contextlib.contextmanager
def parents_kept_only_on_success(path: Path) -> Iterator[None]:
    """Around work that writes `path`: the folders above it that it creates are removed again
    (when empty) if the work fails, so a refused or failed command leaves no empty folders."""
    missing = [parent for parent in absolute(path).parents if not parent.exists()]
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
