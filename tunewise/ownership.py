"""What tunewise may replace: only folders it can prove it wrote, never its own inputs.

Every folder tunewise publishes (a run, an index, a merged model, a comparison) carries a marker
file that only tunewise writes. Before anything is replaced, the target must be missing, an empty
folder, or a folder with that marker; anything else (a user's folder, a file, the folder that holds
the input being read) is refused with a one-line error naming the path, before any work starts.
A comparison is written once and never changed, so its marker also lists every file in it: a file
the user added since (notes, a draft) makes the folder theirs, and it is refused naming that file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tunewise import __version__
from tunewise.errors import ConfigError
from tunewise.paths import absolute

# Inside a temporary folder while tunewise builds it (tunewise.atomic); never part of what it publishes.
TEMP_MARKER = ".tunewise-temp"


def _files_in(folder: Path) -> list[str]:
    """Every file (and link) under `folder`, as sorted POSIX paths relative to it."""
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_symlink() or not path.is_dir()
    )


@dataclass(frozen=True)
class Owned:
    """A kind of folder tunewise writes, and the marker file that proves a folder is one."""

    what: str  # for people: "an index", "a run folder"
    marker: str  # a JSON file inside the folder that only tunewise writes
    legacy: tuple[str, ...] = ()  # files that together identify folders written before the marker existed
    lists_files: bool = False  # the marker lists every file: for folders written once and never changed

    def _record(self, folder: Path) -> dict[str, object] | None:
        try:
            data = json.loads((folder / self.marker).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) and "tunewise_version" in data else None

    def proves(self, folder: Path) -> bool:
        """True if `folder` holds this kind's marker (or, for older folders, all its legacy files)."""
        if self._record(folder) is not None:
            return True
        return bool(self.legacy) and all((folder / name).exists() for name in self.legacy)

    def foreign_file(self, folder: Path) -> str | None:
        """A file in a marked `folder` that tunewise did not write there (for kinds that list their files)."""
        record = self._record(folder)
        if not self.lists_files or record is None:
            return None
        listed = record.get("files")
        written = {self.marker, *(listed if isinstance(listed, list) else [])}
        return next((name for name in _files_in(folder) if name not in written), None)

    def mark(self, folder: Path, **facts: object) -> None:
        """Write the marker into a folder being built (plain write: the folder is not published yet).

        For kinds that list their files, call it last, when everything else is written.
        """
        record = {"tunewise_version": __version__, "kind": self.what, "created": time.time(), **facts}
        if self.lists_files:
            record["files"] = [name for name in _files_in(folder) if name not in (self.marker, TEMP_MARKER)]
        (folder / self.marker).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


RUN = Owned("a run folder", "tunewise-run.json", legacy=("config.yaml", "metrics.json", "result.json"))
MERGED_MODEL = Owned("a merged model", "tunewise-merged.json")
COMPARISON = Owned("a comparison", "tunewise-comparison.json", lists_files=True)
BUNDLE = Owned("a training job bundle", "tunewise-bundle.json")
# An index's manifest is its marker: it records the version that wrote it.
INDEX = Owned("an index", "manifest.json")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and next(path.iterdir(), None) is None


def _file_above(target: Path) -> Path | None:
    """The nearest existing folder above `target`, if it is in fact a file (then nothing can be made there)."""
    for parent in target.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def refusal(target: Path, owned: Owned) -> str | None:
    """Why writing `target` would lose something of the user's (None: missing, empty, or ours)."""
    blocked = _file_above(target)
    if blocked is not None:
        return f"{blocked} is a file, not a folder, so nothing can be written under it; choose another path"
    if not target.exists() and not target.is_symlink():
        return None
    if target.is_symlink():
        return "is a symbolic link; give the real folder path, or a new one"
    if not target.is_dir():
        return f"is a file, not a folder; give a folder path for {owned.what}"
    if _is_empty_dir(target):
        return None
    if not owned.proves(target):
        return (
            f"already exists and is not {owned.what} written by tunewise (no {owned.marker}); "
            "tunewise only replaces its own folders: choose another path, or move that folder away yourself"
        )
    foreign = owned.foreign_file(target)
    if foreign is not None:
        return (
            f"holds {foreign}, which tunewise did not write; tunewise replaces {owned.what} only as it left it: "
            "move that file out, or choose another path"
        )
    return None


def may_replace(target: Path, owned: Owned) -> bool:
    """Whether writing `target` loses nothing of the user's: missing, empty, or ours as we left it."""
    return refusal(target, owned) is None


def _existing(inputs: Iterable[Path | str | None]) -> Iterator[Path]:
    """The inputs that are files or folders on disk (not built-in names such as `demo`, or hub ids), resolved."""
    for item in inputs:
        if item is not None and Path(item).expanduser().exists():
            yield Path(item).expanduser().resolve()


def _refuse_replacing(source: Path, resolved_target: Path, named: str, what_to_do: str) -> None:
    if source == resolved_target or resolved_target in source.parents:
        raise ConfigError(f"{named}: would replace {source}, which this command reads; {what_to_do}")


def check_target(target: Path, owned: Owned, *, flag: str, inputs: Iterable[Path | str | None] = ()) -> Path:
    """Refuse a target tunewise may not write; return it as an absolute path.

    `inputs` are the files and folders the command reads (its data, its source run or model):
    the target may not be one of them, contain one of them, or lie inside an input folder.
    """
    target_path = absolute(target)
    resolved = target_path.resolve()
    for source in _existing(inputs):
        _refuse_replacing(source, resolved, f"{flag} {target}", f"choose another path for {flag}")
        if source.is_dir() and source in resolved.parents:
            raise ConfigError(
                f"{flag} {target}: lies inside {source}, which this command reads; choose a path outside it for {flag}"
            )
    reason = refusal(target_path, owned)
    if reason is not None:
        raise ConfigError(f"{flag} {target}: {reason}")
    return target_path


def check_file_target(
    target: Path, *, flag: str, what: str, proves: Callable[[Path], bool], inputs: Iterable[Path | str | None] = ()
) -> Path:
    """Refuse an output file that would replace a folder, an input, or a file tunewise did not write."""
    target_path = absolute(target)
    for source in _existing(inputs):
        _refuse_replacing(source, target_path.resolve(), f"{flag} {target}", "choose another file")
    if target_path.is_dir():
        raise ConfigError(f"{flag} {target}: is a folder; give a file name such as {target_path.name}/result.json")
    if target_path.exists() and not proves(target_path):
        raise ConfigError(
            f"{flag} {target}: already exists and is not {what} written by tunewise; "
            "choose another file name, or remove it yourself"
        )
    blocked = _file_above(target_path)
    if blocked is not None:
        raise ConfigError(f"{flag} {target}: {blocked} is a file, not a folder; choose another path")
    return target_path
