"""The run folder: built under `<name>.incomplete/`, published as `<name>/` only when finished.

A finished run folder therefore always holds a whole result; an interrupted one keeps its
sealed checkpoints under the `.incomplete` name until `--resume` finishes it or `--overwrite`
starts it again. Both carry the run marker (`tunewise.ownership.RUN`): `--overwrite` replaces a
run and nothing else, and never a folder that holds the run's own data or base model. While a
process trains, it holds the run's write lock, so a second `train` on the same folder stops at
once with the holder's pid instead of racing it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.checkpoints import latest_sealed, remove_unsealed
from harness.config import TrainConfig
from tunewise.atomic import atomic_write_text, recover, swap_into_place
from tunewise.errors import ConfigError
from tunewise.locks import writer_lock
from tunewise.ownership import RUN, Owned, check_target
from tunewise.paths import absolute

CONFIG_FILE = "config.yaml"
# An interrupted run: the marker, or (folders from before the marker) its config and checkpoints.
INTERRUPTED = Owned("an interrupted run folder", RUN.marker, legacy=(CONFIG_FILE, "checkpoints"))
# Keys that may change between an interrupted run and its resumption without changing the result.
RESUME_MAY_CHANGE = {"report_to", "logging_steps", "eval_generate", "max_new_tokens", "output_dir", "aliases_used"}


def default_output_dir(config: TrainConfig, task: str) -> Path:
    """runs/<data>-<task>-<method>: the same config finds its own run again for --resume."""
    stem = Path(config.data).name.split(".")[0] or "data"
    return Path("runs") / f"{stem}-{task}-{config.method}"


def resume_or_next(base: Path, limit: int = 1000) -> tuple[Path, bool]:
    """Where to train for `base` without replacing anything: (folder, resume).

    An interrupted run with a complete checkpoint (`base`, `base-2`, ...) is resumed; otherwise
    the first number whose folder is free starts a new run. A finished run is never replaced.
    """
    for attempt in range(1, limit):
        folder = RunFolder(base if attempt == 1 else base.with_name(f"{base.name}-{attempt}"))
        if folder.work.is_dir() and latest_sealed(folder.checkpoints) is not None:
            return folder.final, True
        if not folder.final.exists() and not folder.work.exists():
            return folder.final, False
    raise ConfigError(f"output_dir: {base} and {limit - 1} numbered runs beside it exist; set output_dir")


def run_inputs(config: TrainConfig) -> list[str | None]:
    """What a run reads from disk: its output may never replace or sit inside any of these."""
    return [config.data, config.eval_data, config.init_adapter, config.base_model]


@dataclass
class RunFolder:
    final: Path

    def __post_init__(self) -> None:
        # Absolute, so that `output_dir: .` names a real folder that can be renamed.
        self.final = absolute(self.final)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's write lock: a second writer fails at once, naming this process."""
        with writer_lock(self.final, "this run"):
            yield

    @property
    def work(self) -> Path:
        return self.final.with_name(self.final.name + ".incomplete")

    @property
    def checkpoints(self) -> Path:
        return self.work / "checkpoints"

    def open(
        self, config: TrainConfig, *, resume: bool, overwrite: bool, inputs: Iterable[str | None] = ()
    ) -> Path | None:
        """Make the work folder ready; return the checkpoint to resume from, if any. Hold `locked()`."""
        recover(self.final)  # a publish that a crash cut short
        self.check(overwrite=overwrite, inputs=inputs)
        if resume:
            return self._reopen(config)
        if self.work.exists():
            if not overwrite:
                raise ConfigError(
                    f"output_dir: {self.work} holds an interrupted run; pass --resume to continue it or "
                    "--overwrite to start again"
                )
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        RUN.mark(self.work)
        save_config(self.work / CONFIG_FILE, config)
        return None

    def check(self, *, overwrite: bool, inputs: Iterable[str | None] = ()) -> None:
        """Refuse, without touching anything, a folder this run may not write (also before any model loads)."""
        inputs = list(inputs)
        check_target(self.final, RUN, flag="output_dir:", inputs=inputs)
        check_target(self.work, INTERRUPTED, flag="output_dir:", inputs=inputs)
        if self.final.exists() and not overwrite and next(self.final.iterdir(), None) is not None:
            raise ConfigError(
                f"output_dir: {self.final} already holds a finished run; set another output_dir or pass --overwrite"
            )

    def _reopen(self, config: TrainConfig) -> Path:
        if not self.work.is_dir():
            raise ConfigError(f"--resume: no interrupted run at {self.work}; run without --resume to start one")
        if not (self.work / CONFIG_FILE).is_file():
            raise ConfigError(f"--resume: {self.work} is not an interrupted tunewise run (no {CONFIG_FILE})")
        saved = read_saved_config(self.work / CONFIG_FILE)
        changed = sorted(
            key for key, value in config.to_dict().items() if key not in RESUME_MAY_CHANGE and saved.get(key) != value
        )
        if changed:
            raise ConfigError(
                f"--resume: {', '.join(changed)} differ from the interrupted run's {self.work / CONFIG_FILE}; "
                "resume with the same config, or pass --overwrite to start again"
            )
        remove_unsealed(self.checkpoints)
        checkpoint = latest_sealed(self.checkpoints)
        if checkpoint is None:
            raise ConfigError(f"--resume: {self.work} has no complete checkpoint yet; pass --overwrite to start again")
        save_config(self.work / CONFIG_FILE, config)
        return checkpoint

    def discard_if_unresumable(self) -> None:
        """Remove the work folder of a run that failed before any checkpoint was complete."""
        if self.work.is_dir() and latest_sealed(self.checkpoints) is None:
            shutil.rmtree(self.work, ignore_errors=True)

    def resume_hint(self) -> str:
        """What survives an interruption, and the command that continues it."""
        last = latest_sealed(self.checkpoints)
        if last is None:
            return f"stopped before the first checkpoint; nothing was kept at {self.work.name}. Run again to start over"
        return f"stopped; {self.work} keeps {last.name}: rerun the same command with --resume to continue from it"

    def publish(self) -> Path:
        """Move the finished work folder into place (replacing an old run only with --overwrite)."""
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        swap_into_place(self.work, self.final)
        return self.final


def save_config(path: Path, config: TrainConfig) -> None:
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


def read_saved_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the saved config ({exc}); pass --overwrite to start again") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the saved config is damaged; pass --overwrite to start again")
    return data
