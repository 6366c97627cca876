"""Values from YAML files and command-line flags, in the types the dataclasses declare.

The questionnaire and the training config accept the same spellings (true/yes/1, 7e9, 7B,
1,200) and refuse the same things (NaN, infinity, numbers out of range), with messages that name
the key and where it was read.
"""

from __future__ import annotations

import math
from decimal import Context
from typing import Any

from tunewise.errors import ConfigError, shorten


def coerce_value(name: str, kind: str, value: Any, place: str = "") -> Any:
    """Turn `value` into `kind` (a dataclass field's type, as text: "int | None", "bool"...).

    Shared by the questionnaire and the training config, so both accept the same spellings
    (true/yes/1, 7e9, 7B, 1,200).
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "null", "none"}):
        if "None" in kind:
            return None
        raise ConfigError(f"{place}{name} needs a value")
    try:
        if kind.startswith("bool"):
            return _bool(value)
        if kind.startswith("int"):
            return _int(value)
        if kind.startswith("float"):
            return _number(value)
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        return value.strip()
    except ValueError as exc:
        raise ConfigError(f"{place}{name}: {exc}") from exc


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1", "on"}:
        return True
    if text in {"false", "no", "n", "0", "off"}:
        return False
    raise ValueError(f"'{shorten(value)}' is not true or false")


def _number(value: Any) -> float:
    """A finite float from a number or its text (7e9, 7B, 1,200); NaN and infinity are refused here,
    where the place is known, since they would pass every range check later (all comparisons with NaN are false).
    """
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    try:
        number = float(value) if isinstance(value, int | float) else _parse_number(str(value))
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{shorten(value)} is too large") from None
    if math.isnan(number):
        raise ValueError(f"'{shorten(value)}' is not a number (NaN); give a number such as 1 or 0.5")
    if math.isinf(number):
        raise ValueError(f"'{shorten(value)}' is infinite or too large; give a finite number")
    return number


def _parse_number(text: str) -> float:
    cleaned = text.strip().replace("_", "").replace(",", "")
    suffixes = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
    scale = suffixes.get(cleaned[-1:].lower(), 1.0)
    if scale != 1.0:
        cleaned = cleaned[:-1]
    try:
        return float(cleaned) * scale
    except ValueError:
        raise ValueError(f"'{shorten(text)}' is not a number") from None


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # exact, however large: the range check names the problem
    number = _number(value)
    if not number.is_integer():
        raise ValueError(f"'{shorten(value)}' is not a whole number")
    return int(number)


def check_range(name: str, value: float, minimum: float | None, maximum: float | None, why: str = "") -> None:
    """Raise `ConfigError` naming `name` for a value that is not finite or is outside [minimum, maximum].

    `why` says what a value above `maximum` would mean, so the user sees it is a typo and not a limit of tunewise.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}: {value} is not a finite number; give a finite value")
    if minimum is not None and value < minimum:
        rule = "negative" if minimum == 0 and value < 0 else f"below the minimum of {minimum:g}"
        raise ConfigError(f"{name}: {show_number(value)} is {rule}; give a value of at least {minimum:g}")
    if maximum is not None and value > maximum:
        reason = f" ({why})" if why else ""
        raise ConfigError(
            f"{name}: {show_number(value)} is above the maximum of {show_number(maximum)}{reason}; check the number"
        )


def show_number(value: float) -> str:
    """A number as a message shows it: 1,200 or 0.05, and 1e+30 rather than thirty-one digits."""
    if isinstance(value, int):
        # Through Decimal: 'g' formatting of an int goes through a float, which 10**400 overflows.
        return f"{Context(prec=3).create_decimal(value).normalize():g}" if abs(value) >= 10**15 else f"{value:,}"
    return f"{value:.3g}" if abs(value) >= 1e15 else f"{value:,g}"
