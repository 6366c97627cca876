"""YAML files of `key: value` lines, read with the line of each key for error messages."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tunewise.errors import ConfigError, shorten


def read_yaml_mapping(path: Path, what: str) -> tuple[dict[Any, Any], dict[str, int]]:
    """A YAML file of `key: value` lines and the line of each key; any failure is a `ConfigError` naming the file.

    Shared by the answers file and the training config. `what` names the file in messages ("config file").
    """
    import yaml

    source = str(path)
    text = _read_yaml_text(path, what)
    root: Any = None  # composed first: it keeps each key's line, and nodes are not yet converted to values
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids: usually a binary file
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(
            f"{source}:{line}: character U+{code:04X} at column {column} is not allowed in YAML (a binary "
            f"file?); save the {what} as UTF-8 text of key: value lines"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = shorten(getattr(exc, "problem", None) or exc, 200)
        raise ConfigError(f"{source}{at}: not valid YAML ({problem}); fix the syntax") from exc
    except RecursionError as exc:  # PyYAML recurses once per level of nesting
        raise ConfigError(
            f"{source}: YAML nested too deeply to read; write the {what} as key: value lines with plain values"
        ) from exc
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        long_line, digits = _long_integer(root)
        raise ConfigError(
            f"{source}{f':{long_line}' if long_line else ''}: a whole number of {digits} digits, more than Python "
            f"reads ({sys.get_int_max_str_digits():,}); fix the value"
        ) from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{source}: expected key: value lines at the top level")
    lines: dict[str, int] = {}
    for key, _ in root.value:
        name, line = str(key.value), key.start_mark.line + 1
        if name in lines:  # YAML keeps the last silently; a doubled key is nearly always a mistake
            raise ConfigError(f"{source}:{line}: {name} is set twice (first on line {lines[name]}); keep one of them")
        lines[name] = line
    return data, lines


def _read_yaml_text(path: Path, what: str) -> str:
    source = str(path)
    if path.is_dir():
        raise ConfigError(f"{source}: a folder, not a file; give the YAML {what} itself")
    if not path.is_file():
        raise ConfigError(f"{source}: no such {what}; check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the {what} ({exc.strerror or exc}); check its permissions") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{source}:{line}: byte 0x{data[exc.start : exc.start + 1].hex()} at column {column} is not UTF-8 text "
            f"(a binary file?); save the {what} as UTF-8 text of key: value lines"
        ) from exc


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _long_integer(root: Any) -> tuple[int | None, str]:
    """The line and digit count of the first integer too long for Python to convert, in a composed YAML tree."""
    import yaml

    limit = sys.get_int_max_str_digits()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:int" and limit and len(node.value) > limit:
                return int(node.start_mark.line) + 1, f"{len(node.value):,}"
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
    return None, "thousands of"
