"""Numbers for people: sizes, durations and money."""

from __future__ import annotations


def human_bytes(size: float) -> str:
    """Decimal units, as disks and GPU cards are sold: 538.1 MB, 24.0 GB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def human_duration(hours: float) -> str:
    """A duration given in hours, in the unit that reads best."""
    seconds = hours * 3600
    if seconds < 60:
        return "under a minute" if seconds >= 1 else "seconds"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def human_money(usd: float) -> str:
    if usd == 0:
        return "$0"
    if usd < 0.01:
        return "under $0.01"
    return f"${usd:,.2f}"
