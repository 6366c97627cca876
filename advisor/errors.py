"""The errors tunewise raises on purpose.

Every error a user can cause (a bad file, an unknown model, an impossible answer) is a
`TunewiseError`. The command line prints it as one line and exits with `exit_code`; the
TUI shows `title` and `message` in a modal. Anything else that escapes is a bug.
"""

from __future__ import annotations


class TunewiseError(Exception):
    """An error the user can fix; `message` says what went wrong and what to do."""

    title = "Error"
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DataError(TunewiseError):
    """The user's data cannot be read or does not fit the task."""

    title = "Data error"


class ModelError(TunewiseError):
    """A model name cannot be resolved, prepared or loaded."""

    title = "Model error"


class ConfigError(TunewiseError):
    """An answer, flag or config key is invalid."""

    title = "Configuration error"


class StorageError(TunewiseError):
    """The disk filled up or refused a write; nothing half-written is left behind."""

    title = "Storage error"


def where(source: str, line: int | None = None, unit: str = "line") -> str:
    """Format a location the way compilers do: `file:line` for text files, `file row N` otherwise."""
    if line is None:
        return source
    if unit == "line":
        return f"{source}:{line}"
    return f"{source} {unit} {line}"
