"""The run folder: built under `<name>.incomplete/`, published as `<name>/` only when finished.

A finished run folder therefore always holds a whole result; an interrupted one keeps its
sealed checkpoints under the `.incomplete` name until `--resume` finishes it or `--overwrite`
starts it again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from advisor.atomic import atomic_write_text
from advisor.errors import ConfigError
from harness.checkpoints import latest_sealed, remove_unsealed
from harness.config import TrainConfig

CONFIG_FILE = "config.yaml"
# Keys that may change between an interrupted run and its resumption without changing the result.
RESUME_MAY_CHANGE = {"report_to", "logging_steps", "eval_generate", "max_new_tokens", "output_dir", "aliases_used"}


def default_output_dir(config: TrainConfig, task: str) -> Path:
    """runs/<data>-<task>-<method>: the same config finds its own run again for --resume."""
    stem = Path(config.data).name.split(".")[0] or "data"
    return Path("runs") / f"{stem}-{task}-{config.method}"


@dataclass
class RunFolder:
    final: Path

    @property
    def work(self) -> Path:
        return self.final.with_name(self.final.name + ".incomplete")

    @property
    def checkpoints(self) -> Path:
        return self.work / "checkpoints"

    def open(self, config: TrainConfig, *, resume: bool, overwrite: bool) -> Path | None:
        """Make the work folder ready; return the checkpoint to resume from, if any."""
        if self.final.exists() and not overwrite:
            raise ConfigError(
                f"output_dir: {self.final} already holds a finished run; set another output_dir or pass --overwrite"
            )
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
        save_config(self.work / CONFIG_FILE, config)
        return None

    def _reopen(self, config: TrainConfig) -> Path:
        if not self.work.is_dir():
            raise ConfigError(f"--resume: no interrupted run at {self.work}; run without --resume to start one")
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

    def publish(self) -> Path:
        """Move the finished work folder into place (replacing an old run only with --overwrite)."""
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        if self.final.exists():
            trash = self.final.with_name(self.final.name + ".replaced")
            shutil.rmtree(trash, ignore_errors=True)
            self.final.replace(trash)
            self.work.replace(self.final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            self.work.replace(self.final)
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
