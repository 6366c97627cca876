"""The run registry: one SQLite file recording every index build, training run, comparison and
comparison arm: kind, config, data hash, metrics, artifact path, timings and status.

It lives in tunewise's home (`$TUNEWISE_REGISTRY`, else `registry.sqlite` in the cache folder
of `tunewise.paths`). Many processes write it at once (a comparison beside a training run, four
arms on four machines sharing a home): the file is in WAL mode, every write is one short
`BEGIN IMMEDIATE` transaction, and a writer waits up to `BUSY_SECONDS` for another instead of
failing. The registry is a record, not the work: when it cannot be written (a read-only home, a
damaged file) the work goes on and one warning says so. A command that reads it (`runs list`)
refuses a damaged one in one line naming the file, and changes nothing.

It is created readable by its owner only: it keeps the command lines of runs, and values of
keys that name a secret (`--set hub_token=...`) are written as `***`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.errors import ConfigError, InterruptionError
from tunewise.paths import cache_dir

BUSY_SECONDS = 60.0
KINDS = ("index", "train", "arm", "comparison")
COLUMNS = (
    "id",
    "kind",
    "name",
    "status",
    "reuse_key",
    "config",
    "data_hash",
    "metrics",
    "artifact",
    "reason",
    "started_at",
    "finished_at",
    "seconds",
    "host",
    "pid",
    "command",
)
# Names of secrets: `hub_token`, `api_key`, `--openai-api-key`, `db_password` (but not `token_f1`
# or `max_tokens`): the last word is one of these, or any word is one of the last three.
_SECRET_LAST = {"token", "key", "apikey", "secret", "password", "passwd", "credential", "credentials"}
_SECRET_ANY = {"secret", "password", "passwd"}


def names_secret(name: str) -> bool:
    """Whether a key or flag name (`hub_token`, `--api-key`) names a secret whose value is never kept."""
    words = [word for word in re.split(r"[-_.]+", name.lower()) if word]
    return bool(words) and (words[-1] in _SECRET_LAST or bool(_SECRET_ANY & set(words)))


def _hide_value(word: str) -> str:
    """`KEY=VALUE` with `VALUE` as `***` when `KEY` names a secret; any other word as it is."""
    key, eq, _ = word.partition("=")
    return f"{key}=***" if eq and names_secret(key) else word


class RegistryError(ConfigError):
    """The registry file cannot be used: not a file, not a database, or not tunewise's."""


def redact(argv: list[str]) -> str:
    """A command line fit to keep: the value of every key or flag that names a secret is `***`."""
    words: list[str] = []
    hide_next = False
    for word in argv:
        words.append("***" if hide_next else _hide_value(word))
        hide_next = word.startswith("-") and "=" not in word and names_secret(word)  # `--api-key VALUE`
    return " ".join(words)


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    reuse_key TEXT,
    config TEXT NOT NULL,
    data_hash TEXT,
    metrics TEXT,
    artifact TEXT,
    reason TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    seconds REAL,
    host TEXT,
    pid INTEGER,
    command TEXT
);
CREATE INDEX IF NOT EXISTS runs_reuse ON runs (reuse_key, status);
"""


def _redacted(value: Any) -> Any:
    """A config fit to keep: values of keys naming a secret, and `KEY=VALUE` strings with such keys, as `***`."""
    if isinstance(value, dict):
        return {k: "***" if names_secret(str(k)) and value[k] else _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, str):
        return _hide_value(value)
    return value


def registry_path() -> Path:
    explicit = os.environ.get("TUNEWISE_REGISTRY")
    return Path(explicit).expanduser() if explicit else cache_dir() / "registry.sqlite"


def _named(path: Path) -> str:
    """The registry as the user can find it: the variable that chose it, or its path."""
    return f"TUNEWISE_REGISTRY {path}" if os.environ.get("TUNEWISE_REGISTRY") else str(path)


def check_registry_path(path: Path) -> None:
    """Refuse a registry path that names no regular file tunewise may create or open, before any
    work (a folder, /dev/null, a path under a file)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RegistryError(
                    f"{_named(path)}: {parent} is a file, not a folder; set TUNEWISE_HOME or TUNEWISE_REGISTRY "
                    "to a folder or file path tunewise can create"
                )
            break
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise RegistryError(
            f"{_named(path)}: is not a regular file; point TUNEWISE_REGISTRY at a file path (it is created if missing)"
        )


def reuse_key(kind: str, config: dict[str, Any], data_hash: str) -> str:
    """What must match for a recorded artifact to stand in for a new one: the kind, the whole
    config (canonical JSON) and the data."""
    text = json.dumps([kind, config, data_hash], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def data_hash(*paths: str | None) -> str:
    """A fingerprint of the data a run reads: the bytes of each file (every file of a folder, by
    relative path), or the name itself for a built-in set."""
    digest = hashlib.sha256()
    for given in paths:
        if not given:
            continue
        path = Path(given).expanduser()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
        if not files:
            digest.update(f"name:{given}\n".encode())
        for file in files:
            digest.update(f"{file.relative_to(path) if path.is_dir() else file.name}\n".encode())
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    name: str
    status: str  # running, ok, failed, skipped, interrupted
    reuse_key: str | None
    config: dict[str, Any]
    data_hash: str | None
    metrics: dict[str, Any]
    artifact: str | None
    reason: str
    started_at: float
    finished_at: float | None
    seconds: float | None
    host: str
    pid: int | None
    command: str

    @property
    def shown_status(self) -> str:
        """`running` only while its process lives; a run whose process died is `interrupted`."""
        if self.status == "running" and self.host == socket.gethostname() and not _alive(self.pid):
            return "interrupted"
        return self.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "status": self.shown_status,
            "config": self.config,
            "data_hash": self.data_hash,
            "metrics": self.metrics,
            "artifact": self.artifact,
            "reason": self.reason,
            "started_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at)),
            "seconds": self.seconds,
            "host": self.host,
            "pid": self.pid,
            "command": self.command,
        }


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or registry_path()

    @contextmanager
    def _connection(self, write: bool) -> Iterator[sqlite3.Connection]:
        check_registry_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Created private: the registry keeps command lines and configs.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            self._prepare(connection)
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from exc
        try:
            if write:
                connection.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock later
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            else:
                yield connection
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise  # busy for BUSY_SECONDS: another writer, not a damaged file
            raise self._unusable(exc) from exc  # a truncated file fails only when a page is read
        finally:
            connection.close()

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """WAL mode and the schema; refuses a file that is not a database or holds another `runs` table."""
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
            found = tuple(row[1] for row in connection.execute("PRAGMA table_info(runs)"))
            if found and found != COLUMNS:
                raise RegistryError(
                    f"{_named(self.path)}: holds a 'runs' table that tunewise did not make (columns "
                    f"{', '.join(found[:4])}...); point TUNEWISE_REGISTRY at another file"
                )
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(SCHEMA)
        except BaseException:
            connection.close()
            raise

    def _unusable(self, exc: sqlite3.Error) -> RegistryError:
        return RegistryError(
            f"{_named(self.path)}: the run registry cannot be read ({exc}); move the file away (tunewise starts a "
            "new one) or point TUNEWISE_REGISTRY at another file"
        )

    def start(
        self,
        kind: str,
        name: str,
        config: dict[str, Any],
        *,
        data_hash: str | None = None,
        artifact: str | None = None,
        key: str | None = None,
    ) -> int:
        """Record a run that begins now; its id."""
        with self._connection(write=True) as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, name, status, reuse_key, config, data_hash, artifact, reason, started_at, "
                "host, pid, command) VALUES (?, ?, 'running', ?, ?, ?, ?, '', ?, ?, ?, ?)",
                (
                    kind,
                    name,
                    key,
                    json.dumps(_redacted(config), sort_keys=True, default=str),
                    data_hash,
                    artifact,
                    time.time(),
                    socket.gethostname(),
                    os.getpid(),
                    redact(["tunewise", *sys.argv[1:]])[:500],
                ),
            )
            return int(cursor.lastrowid or 0)

    def finish(
        self,
        run_id: int,
        status: str,
        *,
        metrics: dict[str, Any] | None = None,
        artifact: str | None = None,
        reason: str = "",
    ) -> None:
        now = time.time()
        with self._connection(write=True) as db:
            db.execute(
                "UPDATE runs SET status = ?, metrics = ?, artifact = COALESCE(?, artifact), reason = ?, "
                "finished_at = ?, seconds = ? - started_at WHERE id = ?",
                (status, json.dumps(metrics or {}, default=str), artifact, reason, now, now, run_id),
            )

    def reusable(self, key: str) -> Run | None:
        """The latest finished run with this reuse key whose artifact is still on disk."""
        with self._connection(write=False) as db:
            rows = db.execute(
                "SELECT * FROM runs WHERE reuse_key = ? AND status = 'ok' ORDER BY id DESC", (key,)
            ).fetchall()
        for row in rows:
            run = self._run(row)
            if run.artifact and Path(run.artifact).exists():
                return run
        return None

    def runs(self, limit: int = 50, kind: str | None = None) -> list[Run]:
        with self._connection(write=False) as db:
            if kind:
                rows = db.execute("SELECT * FROM runs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit))
            else:
                rows = db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            return [self._run(row) for row in rows.fetchall()]

    def get(self, run_id: int) -> Run:
        with self._connection(write=False) as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"run {run_id}: no such run in {self.path}; `tunewise runs list` shows the ids")
        return self._run(row)

    def _run(self, row: tuple[Any, ...]) -> Run:
        try:
            return _run(row)
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise RegistryError(
                f"{_named(self.path)}: run {row[0]} is damaged ({type(exc).__name__}: {exc}); move the file away "
                "(tunewise starts a new one) or point TUNEWISE_REGISTRY at another file"
            ) from exc


def _run(row: tuple[Any, ...]) -> Run:
    (
        id_,
        kind,
        name,
        status,
        key,
        config,
        data_hash,
        metrics,
        artifact,
        reason,
        started,
        finished,
        seconds,
        host,
        pid,
        command,
    ) = row
    return Run(
        id_,
        kind,
        name,
        status,
        key,
        json.loads(config),
        data_hash,
        json.loads(metrics) if metrics else {},
        artifact,
        reason or "",
        started,
        finished,
        seconds,
        host or "",
        pid,
        command or "",
    )


class Recorder:
    """Records runs when the registry can be written; otherwise warns once and records nothing."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        self._warned = False

    def _safely(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except (sqlite3.Error, OSError, RegistryError) as exc:
            if not self._warned:
                print(
                    f"warning: the run registry {self.registry.path} cannot be used ({exc}); nothing is recorded",
                    file=sys.stderr,
                )
                self._warned = True
            return None

    def start(self, kind: str, name: str, config: dict[str, Any], **kwargs: Any) -> int | None:
        result: int | None = self._safely(self.registry.start, kind, name, config, **kwargs)
        return result

    def finish(self, run_id: int | None, status: str, **kwargs: Any) -> None:
        if run_id is not None:
            self._safely(self.registry.finish, run_id, status, **kwargs)

    def reusable(self, key: str) -> Run | None:
        found: Run | None = self._safely(self.registry.reusable, key)
        return found

    @contextmanager
    def recording(self, kind: str, name: str, config: dict[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Record the run around a block: `ok` with the metrics the block puts in the yielded
        dict (and its `artifact`), `interrupted` on Ctrl-C, `failed` with the reason otherwise."""
        run_id = self.start(kind, name, config, **kwargs)
        record: dict[str, Any] = {}
        try:
            yield record
        except KeyboardInterrupt:
            self.finish(run_id, "interrupted")
            raise
        except Exception as exc:
            status = "interrupted" if isinstance(exc, InterruptionError) else "failed"
            self.finish(run_id, status, reason=str(getattr(exc, "message", exc))[:500])
            raise
        self.finish(
            run_id,
            record.pop("status", "ok"),
            metrics=record.get("metrics"),
            artifact=record.get("artifact"),
            reason=record.get("reason", ""),
        )
