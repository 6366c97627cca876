"""The errors tunewise raises on purpose.

Every error a user can cause (a bad file, an unknown model, an impossible answer) is a
`TunewiseError`. The command line prints it as one line and exits with `exit_code`; the
TUI shows `title` and `message` in a modal. Anything else that escapes is a bug.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


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


class InterruptionError(TunewiseError):
    """The user stopped a command (Ctrl-C or SIGTERM); `message` says what was kept and how to go on."""

    title = "Interrupted"
    exit_code = 130


def where(source: str, line: int | None = None, unit: str = "line") -> str:
    """Format a location the way compilers do: `file:line` for text files, `file row N` otherwise."""
    if line is None:
        return source
    if unit == "line":
        return f"{source}:{line}"
    return f"{source} {unit} {line}"


def shorten(value: object, limit: int = 60) -> str:
    """A user's value as a message shows it: on one line, and cut after `limit` characters."""
    try:
        text = str(value)
    except ValueError:  # an int past Python's digit limit cannot even be printed
        return "a number of more than 4,300 digits"
    # A label or column name may hold line breaks; a message must stay on one line.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def listing(items: Sequence[object], limit: int = 8) -> str:
    """`a, b, c` for a few items; the first `limit` and "and N more" for many, so messages stay short."""
    shown = ", ".join(shorten(item) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit:,} more"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (escape sequences among them) shown as `?`."""
    return _CONTROL.sub("?", text)
