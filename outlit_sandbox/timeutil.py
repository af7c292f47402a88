"""Timestamps in the one format the public API uses: UTC ISO-8601 with milliseconds and a ``Z``."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta

# The date-time forms the tool contracts' patterns accept: seconds and fraction optional, hours 00-23,
# and either only ``Z`` (most fields) or ``Z`` / ``±HH:MM`` (``activatedSince``).
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
_ISO_UTC = re.compile(rf"^(\d{{4}})-(\d{{2}})-(\d{{2}})T{_TIME}Z$")
_ISO_OFFSET = re.compile(rf"^(\d{{4}})-(\d{{2}})-(\d{{2}})T{_TIME}(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
_WINDOW = re.compile(r"^(\d+)([dhm])$")
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC.

    Bounds the contracts accept but Python cannot hold (year 0000, or year 1 / 9999 pushed out of range
    by an offset) come back as the earliest / latest representable instant: as filters they mean the same.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        if text.startswith("0000-"):
            return _EARLIEST
        raise
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if dt.year == 1 else _LATEST


def is_strict_utc(value: str) -> bool:
    """A contract date-time that must be UTC (``Z``), e.g. ``2026-01-31T00:00:00Z``."""
    return _is_contract_datetime(_ISO_UTC, value)


def is_iso_with_offset(value: str) -> bool:
    """A contract date-time in UTC or with an offset, e.g. ``2026-01-31T01:00:00+01:00``."""
    return _is_contract_datetime(_ISO_OFFSET, value)


def _is_contract_datetime(form: re.Pattern[str], value: str) -> bool:
    match = form.match(value)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    # the calendar check of the contracts' patterns; year 0000 is a leap year there, as in ISO 8601
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year or 2000, month)[1]


def window(value: str) -> timedelta:
    """``"30d"`` / ``"24h"`` / ``"90m"`` as a timedelta."""
    match = _WINDOW.match(value)
    if not match:
        raise ValueError(f"not a window: {value!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def window_start(now: datetime, value: str) -> datetime:
    """``now`` minus a window. The contracts' window pattern has no upper bound, so a window reaching
    before year 1 starts at the earliest time there is (it covers everything)."""
    try:
        return now - window(value)
    except OverflowError:
        return _EARLIEST


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, tz=UTC)


def hour_floor(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Clock:
    """The sandbox's "now": its anchor plus the wall time elapsed since start plus every ``advance``.

    A sync that completes "now" must report a time after the run that waits for it, so the clock moves
    with wall time, as Outlit's does. ``frozen=True`` keeps it at the anchor (plus advances) for tests
    that compare answers over time.
    """

    def __init__(self, anchor: datetime, *, frozen: bool = False, started: float | None = None) -> None:
        self.anchor = anchor
        self.frozen = frozen
        self.started = time.monotonic() if started is None else started
        self.advanced = timedelta(0)

    def now(self) -> datetime:
        at = self.anchor + self.advanced
        if not self.frozen:
            at += timedelta(seconds=time.monotonic() - self.started)
        return at.replace(microsecond=at.microsecond // 1000 * 1000)  # the API's millisecond precision

    def advance(self, delta: timedelta) -> datetime:
        self.advanced += delta
        return self.now()
