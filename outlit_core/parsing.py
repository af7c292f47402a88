"""The one home of two small parsers that settings, templates and flags share across the package.

``parse_timestamp`` reads the timestamps users write (ISO-8601 strings, dates, datetimes) as aware UTC; and
``parse_name_list`` reads a list of names given as a list, a JSON list or a comma list (what an environment
variable, a TOML value or a rendered Airflow template can hold).
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["parse_name_list", "parse_timestamp"]


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """An aware UTC datetime from an ISO string, a date or a datetime; naive values are taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{field}={value!r} is not an ISO-8601 timestamp; use e.g. '2026-01-01' or "
                "'2026-01-01T00:00:00Z'"
            ) from None
    else:
        raise ValueError(
            f"{field} must be an ISO-8601 string, a date or a datetime, got {type(value).__name__} {value!r}"
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_name_list(value: Any, *, field: str) -> list[str]:
    """Names from a list/tuple of strings, a JSON list (``'["a", "b"]'``), a Python list repr (a list
    rendered by a template without native rendering) or a comma list (``"a, b"``); stripped, none empty.

    A bare string is never taken character by character.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ValueError(
                        f"{field}={text!r} looks like a list but is neither JSON nor a Python list; write it "
                        'as ["a", "b"] or as a, b'
                    ) from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(
            f"{field} must be a list of names or a comma-separated string of them, "
            f"got {type(value).__name__} {value!r}"
        )
    return [v.strip() for v in value]
