"""Parsing and formatting of the ISO-8601 UTC timestamps that Outlit's tools accept and return."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """An aware UTC datetime from an ISO string, a date or a datetime; naive values are taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{field}={value!r} is not an ISO-8601 timestamp; use e.g. '2026-01-01' or "
                "'2026-01-01T00:00:00Z'"
            ) from None
    else:
        raise ValueError(
            f"{field} must be an ISO-8601 string, a date or a datetime, got {type(value).__name__}"
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """The ``YYYY-MM-DDTHH:MM:SS.mmmZ`` form the tool inputs require (UTC, ``Z`` suffix)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def latest(current: str | None, candidate: Any) -> str | None:
    """The later of a stored cursor and a row's timestamp, as a formatted string.

    Missing or unparseable values leave the cursor where it is: such a row is still loaded (dlt keeps an
    unparseable value in a variant column) but must not stall or corrupt the incremental state.
    """
    if candidate is None or candidate == "":
        return current
    try:
        parsed = parse_timestamp(candidate, field="cursor value")
    except ValueError:
        return current
    if current is None or parsed > parse_timestamp(current, field="cursor value"):
        return format_timestamp(parsed)
    return current


def minus(value: str, delta: timedelta) -> str:
    return format_timestamp(parse_timestamp(value, field="cursor value") - delta)


def to_timedelta(value: Any, *, field: str) -> timedelta:
    """A look-back or interval given as a timedelta or a number of hours (what TOML and env vars can hold)."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(hours=value)
    else:
        raise ValueError(f"{field} must be a number of hours or a timedelta, got {value!r}")
    if delta < timedelta(0):
        raise ValueError(f"{field} must not be negative, got {value!r}")
    return delta
