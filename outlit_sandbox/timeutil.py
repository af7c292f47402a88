"""Timestamps in the one format the public API uses: UTC ISO-8601 with milliseconds and a ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The strict UTC form the tool contracts require for date-time inputs (offsets other than Z are refused).
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z$")
_WINDOW = re.compile(r"^(\d+)([dhm])$")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def is_strict_utc(value: str) -> bool:
    if not _ISO_UTC.match(value):
        return False
    try:
        parse_iso(value)
    except ValueError:
        return False
    return True


def window(value: str) -> timedelta:
    """``"30d"`` / ``"24h"`` / ``"90m"`` as a timedelta."""
    match = _WINDOW.match(value)
    if not match:
        raise ValueError(f"not a window: {value!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, tz=UTC)


def hour_floor(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
