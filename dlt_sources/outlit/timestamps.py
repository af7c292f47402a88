"""Parsing and formatting of the ISO-8601 UTC timestamps that Outlit's tools accept and return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from outlit_core.parsing import parse_timestamp as parse_timestamp  # one home, shared with Airflow


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
