"""A small declarative validator for request bodies and tool inputs.

The public gateway reports every problem as ``{"path": [...], "message": ...}`` in the wording of the
validation library Outlit uses (``Too big: expected number to be <=1000``); this module produces the same
shape from field specs written in plain dicts, without pulling a JSON-Schema engine into the server.

Spec keys: ``type`` (string|number|integer|boolean|array|object|any), ``enum``, ``min``/``max`` (value,
length or item count), ``pattern`` (compiled regex), ``datetime`` (True: strict UTC ISO-8601 with ``Z``;
``"offset"``: ``Z`` or ``±HH:MM``, as the contracts' date-time patterns say), ``iso`` (any ISO-8601
timestamp), ``email``, ``uri``, ``uuid``, ``items``, ``props``, ``required``, ``additional`` (False, True
or a spec for extra values), ``keys`` (regex for object keys), ``nullable``, ``anyOf`` (list of specs,
with ``message``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .timeutil import is_iso_with_offset, is_strict_utc, parse_iso

Issue = dict[str, Any]
Spec = dict[str, Any]

# openapi.json says only `format: email`; Outlit's own browser SDK sends any value matching this rule as
# an identity (outlit-sdk packages/core/src/utils.ts, isValidEmail), so that rule is what is taken
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# RFC 3986 characters only (a control character or a raw non-ASCII letter makes it an IRI, not a URI)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "integer":
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise ValueError(f"unknown spec type {kind}")


def closed(props: dict[str, Spec], *required: str) -> Spec:
    """An object spec that takes only ``props`` and needs ``required``, as the spec's closed bodies."""
    return {"type": "object", "additional": False, "required": required, "props": props}


def validate(spec: Spec, value: Any, path: list[Any] | None = None) -> list[Issue]:
    """All issues of ``value`` against ``spec``; an empty list means valid."""
    issues: list[Issue] = []
    _check(spec, value, path or [], issues)
    return issues


def _issue(issues: list[Issue], path: list[Any], message: str) -> None:
    issues.append({"path": list(path), "message": message})


def _check(spec: Spec, value: Any, path: list[Any], issues: list[Issue]) -> None:
    if value is None and spec.get("nullable"):
        return
    if "anyOf" in spec:
        if not any(not validate(option, value) for option in spec["anyOf"]):
            _issue(
                issues, path, spec.get("message", f"Invalid input: {type_name(value)} is not accepted here")
            )
        return
    kind = spec.get("type", "any")
    if not _type_ok(kind, value):
        expected = "int" if kind == "integer" and isinstance(value, int | float) else kind
        if "enum" in spec and isinstance(value, str | int | float):
            _issue(issues, path, _enum_message(spec["enum"]))
        else:
            _issue(issues, path, f"Invalid input: expected {expected}, received {type_name(value)}")
        return
    if "enum" in spec and value not in spec["enum"]:
        _issue(issues, path, _enum_message(spec["enum"]))
        return
    if "const" in spec and value != spec["const"]:
        _issue(issues, path, f"Invalid input: expected {spec['const']!r}")
        return
    if kind in ("number", "integer"):
        _bounds(spec, value, "number to be", "", path, issues)
    elif kind == "string":
        _bounds(spec, len(value), "string to have", " characters", path, issues)
        if spec.get("datetime") == "offset":
            if not is_iso_with_offset(value):
                _issue(issues, path, "Invalid ISO datetime: use e.g. 2026-01-31T00:00:00Z or ...+01:00")
        elif spec.get("datetime") and not is_strict_utc(value):
            _issue(issues, path, "Invalid ISO datetime: use UTC like 2026-01-31T00:00:00Z")
        if spec.get("iso") and not _is_iso(value):
            _issue(issues, path, "Invalid ISO 8601 datetime")
        if spec.get("email") and not _EMAIL.match(value):
            _issue(issues, path, "Invalid email address")
        if spec.get("uuid") and not _UUID.match(value):
            _issue(issues, path, "Invalid UUID")
        if spec.get("uri") and not _URI.match(value):
            _issue(issues, path, "Invalid URL")
        if "pattern" in spec and not spec["pattern"].search(value):
            _issue(issues, path, f"Invalid string: must match pattern /{spec['pattern'].pattern}/")
    elif kind == "array":
        _bounds(spec, len(value), "array to have", " items", path, issues)
        item_spec = spec.get("items")
        if item_spec:
            for i, item in enumerate(value):
                _check(item_spec, item, [*path, i], issues)
    elif kind == "object":
        _check_object(spec, value, path, issues)


def _bounds(spec: Spec, size: float, what: str, unit: str, path: list[Any], issues: list[Issue]) -> None:
    """``min``/``max`` of a number (its value), a string or an array (its length), in zod's words."""
    if "min" in spec and size < spec["min"]:
        _issue(issues, path, f"Too small: expected {what} >={spec['min']}{unit}")
    if "max" in spec and size > spec["max"]:
        _issue(issues, path, f"Too big: expected {what} <={spec['max']}{unit}")


def _check_object(spec: Spec, value: dict[str, Any], path: list[Any], issues: list[Issue]) -> None:
    props: dict[str, Spec] = spec.get("props", {})
    for name in spec.get("required", ()):
        if name not in value:
            expected = props.get(name, {}).get("type", "value")
            _issue(issues, [*path, name], f"Invalid input: expected {expected}, received undefined")
    additional = spec.get("additional", True)
    key_pattern = spec.get("keys")
    unknown = []
    for key, item in value.items():
        if key_pattern is not None and not key_pattern.match(key):
            _issue(issues, [*path, key], f"Invalid key: must match pattern /{key_pattern.pattern}/")
            continue
        if key in props:
            _check(props[key], item, [*path, key], issues)
        elif additional is False:
            unknown.append(key)
        elif isinstance(additional, dict):
            _check(additional, item, [*path, key], issues)
    if unknown:
        keys = ", ".join(f'"{k}"' for k in unknown)
        _issue(issues, path, f"Unrecognized key{'s' if len(unknown) > 1 else ''}: {keys}")


def _is_iso(value: str) -> bool:
    try:
        parse_iso(value)
    except ValueError:
        return False
    return "T" in value or len(value) == 10


def _enum_message(options: Any) -> str:
    return "Invalid option: expected one of " + "|".join(f'"{o}"' for o in options)
