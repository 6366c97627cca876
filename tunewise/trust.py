"""Whether model folders may run the Python code they ship: the user's choice, once per process.

A model folder can carry Python files that transformers or sentence-transformers import (its
`auto_map`, custom modules in `modules.json`). Running them is the user's explicit choice, made
by `--trust-remote-code`; every loader asks `trust_remote_code()` and the checks in
`tunewise.model_files` refuse such a folder otherwise. A module of its own, so that the model
resolver and the folder checks both read it without importing each other.
"""

from __future__ import annotations

_trust_remote_code = False


def set_trust_remote_code(allowed: bool) -> None:
    """Let (or stop) every loader run Python code a model folder ships; the command line sets this once."""
    global _trust_remote_code
    _trust_remote_code = allowed


def trust_remote_code() -> bool:
    """What every loader passes as `trust_remote_code`: False unless the user asked for it."""
    return _trust_remote_code
