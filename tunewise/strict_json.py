"""JSON that every reader can parse: what tunewise writes never holds `NaN` or `Infinity`.

Python's `json` writes float('nan') as the bare word `NaN`, which JavaScript, jq and most other
readers refuse. A figure that could not be measured is written as `null` instead.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float inside it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text of `value` (non-finite floats as null)."""
    return json.dumps(finite(value), indent=indent, sort_keys=sort_keys, allow_nan=False, default=str)
