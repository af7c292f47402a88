"""Tell literal operator arguments (checkable at DAG parse) from ones Airflow renders at run time."""

from __future__ import annotations

from typing import Any


def is_templated(value: Any) -> bool:
    """True when ``value`` holds Jinja or an XCom reference anywhere, so it can only be checked in execute."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(is_templated(v) for v in value)
    # XComArg, ObjectStoragePath, ArgNotSet and friends resolve later.
    return not (value is None or isinstance(value, bool | int | float))
