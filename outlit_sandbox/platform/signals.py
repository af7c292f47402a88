"""Platform commands on signals."""

from __future__ import annotations

from typing import Any

from ..dataset import CHANNELS as _CHANNELS  # the one list of event channels
from ..validation import Spec, validate
from .store import DESCRIPTION, NAME, CommandError, Platform, check_body, config_hash


# openapi.json closes every definition object (additionalProperties: false): an unknown key is a typo the
# real command refuses, not something to store silently.
def _condition(operator: tuple[str, ...], value: Spec | None) -> Spec:
    props: dict[str, Spec] = {
        "key": {"type": "string", "min": 1, "max": 120},
        "operator": {"type": "string", "enum": operator},
    }
    if value is not None:
        props["value"] = value
    required = ("key", "operator") if value is None else ("key", "operator", "value")
    return {"type": "object", "additional": False, "required": required, "props": props}


_SCALAR: Spec = {"type": "any"}
# openapi.json's SignalPropertyCondition oneOf, picked by `operator`: `exists` takes no value,
# `starts_with` a string, the comparisons a string, number or boolean.
_CONDITIONS: dict[str, Spec] = {
    "exists": _condition(("exists",), None),
    "equals": _condition(("equals", "not_equals"), _SCALAR),
    "not_equals": _condition(("equals", "not_equals"), _SCALAR),
    "starts_with": _condition(("starts_with",), {"type": "string"}),
}
_PROPERTY_CONDITION: Spec = {"type": "object"}  # its shape is checked by _condition_issues


def _condition_issues(conditions: Any, path: list[Any]) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    for i, condition in enumerate(conditions if isinstance(conditions, list) else []):
        operator = condition.get("operator") if isinstance(condition, dict) else None
        if not isinstance(operator, str) or operator not in _CONDITIONS:
            options = "|".join(f'"{k}"' for k in _CONDITIONS)
            issues.append(
                {"path": [*path, i, "operator"], "message": f"Invalid option: expected one of {options}"}
            )
            continue
        issues += validate(_CONDITIONS[operator], condition, [*path, i])
        value = condition.get("value")
        if (
            operator in ("equals", "not_equals")
            and "value" in condition
            and not isinstance(value, str | int | float)
        ):
            issues.append(
                {"path": [*path, i, "value"], "message": "Invalid input: expected string, number or boolean"}
            )
    return issues


_EVENT_MATCH_DEFINITION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("grain", "subjectResolver", "eventNames"),
    "props": {
        "grain": {"type": "string", "enum": ("organization", "customer", "segment")},
        "subjectResolver": {"type": "string", "enum": ("organization", "event_customer", "segment")},
        "eventNames": {"type": "array", "min": 1, "max": 50, "items": {"type": "string", "min": 1}},
        "eventChannels": {"type": "array", "max": 9, "items": {"type": "string", "enum": _CHANNELS}},
        "propertyConditions": {"type": "array", "max": 5, "items": _PROPERTY_CONDITION},
        "conditionMode": {"type": "string", "const": "ALL"},
    },
}


def _window(units: tuple[str, ...], high: int = 365) -> Spec:
    return {
        "type": "object",
        "additional": False,
        "required": ("value", "unit"),
        "props": {
            "value": {"type": "integer", "min": 1, "max": high},
            "unit": {"type": "string", "enum": units},
        },
    }


def _int(low: int, high: int) -> Spec:
    return {"type": "integer", "min": low, "max": high}


_NAMES: Spec = {"type": "array", "max": 50, "items": {"type": "string", "min": 1}}
_EVENT_FILTERS: dict[str, Spec] = {
    "eventChannels": {"type": "array", "max": 9, "items": {"type": "string", "enum": _CHANNELS}},
    "propertyConditions": {"type": "array", "max": 5, "items": _PROPERTY_CONDITION},
}
_DAYS = _window(("day",))


def _detection(kind: str, required: tuple[str, ...], props: dict[str, Spec]) -> Spec:
    return {
        "type": "object",
        "additional": False,
        "required": ("type", *required),
        "props": {"type": {"type": "string", "const": kind}, **props},
    }


# One closed shape per detection type (openapi.json's SignalDetection oneOf), picked by `type`.
_DETECTIONS: dict[str, Spec] = {
    "event_occurred": _detection(
        "event_occurred", ("eventNames",), {"eventNames": {**_NAMES, "min": 1}, **_EVENT_FILTERS}
    ),
    "event_count_threshold": _detection(
        "event_count_threshold",
        ("eventNames", "threshold", "window"),
        {
            "eventNames": {**_NAMES, "min": 1},
            **_EVENT_FILTERS,
            "threshold": {
                "type": "object",
                "additional": False,
                "required": ("operator", "count"),
                "props": {"operator": {"type": "string", "enum": (">=", ">")}, "count": _int(1, 10000)},
            },
            "window": _window(("hour", "day")),
        },
    ),
    "event_absence": _detection(
        "event_absence",
        ("window",),
        {
            "eventNameMode": {"type": "string", "enum": ("exact", "all_except")},
            "eventNames": _NAMES,
            "excludeEventNames": _NAMES,
            **_EVENT_FILTERS,
            "window": _window(("day",), 30),
        },
    ),
    "customer_activity_threshold": _detection(
        "customer_activity_threshold",
        ("metric", "window", "operator", "count"),
        {
            "metric": {"type": "string", "const": "active_days"},
            "window": _DAYS,
            "operator": {"type": "string", "enum": ("<=", "<", ">=", ">")},
            "count": _int(0, 365),
            "minimumObservedAgeDays": _int(1, 365),
        },
    ),
    "customer_activity_drop": _detection(
        "customer_activity_drop",
        (
            "metric",
            "window",
            "baselineWindow",
            "dropPercent",
            "minimumBaselineActiveDays",
            "minimumBaselineEventCount",
        ),
        {
            "metric": {"type": "string", "const": "active_days"},
            "window": _DAYS,
            "baselineWindow": _DAYS,
            "dropPercent": {"type": "number", "min": 1, "max": 100},
            "minimumBaselineActiveDays": _int(1, 365),
            "minimumBaselineEventCount": _int(1, 100000),
        },
    ),
    "related_user_inactivity": _detection(
        "related_user_inactivity",
        ("priorWindow", "inactiveWindow", "minimumPriorActiveDays", "minimumPreviouslyActiveUsers"),
        {
            "priorWindow": _DAYS,
            "inactiveWindow": _DAYS,
            "minimumPriorActiveDays": _int(1, 365),
            "minimumPreviouslyActiveUsers": _int(1, 10000),
        },
    ),
}


def _detection_issues(detection: Any) -> list[dict[str, Any]]:
    path = ["definition", "detection"]
    kind = detection.get("type") if isinstance(detection, dict) else None
    if not isinstance(kind, str) or kind not in _DETECTIONS:
        options = "|".join(f'"{k}"' for k in _DETECTIONS)
        return [{"path": [*path, "type"], "message": f"Invalid option: expected one of {options}"}]
    return validate(_DETECTIONS[kind], detection, path)


_PATTERN_DEFINITION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("schemaVersion", "subjectType", "detection"),
    "props": {
        "schemaVersion": {"type": "string", "const": "2026-06-17"},
        "subjectType": {"type": "string", "const": "customer"},
        "catalogSource": {
            "type": "object",
            "additional": False,
            "required": ("provider", "key", "version"),
            "props": {
                "provider": {"type": "string", "const": "outlit"},
                "key": {"type": "string", "min": 1, "max": 191},
                "version": {"type": "string", "min": 1, "max": 40},
            },
        },
        "detection": {"type": "object"},
    },
}


_SIGNAL: Spec = {
    "type": "object",
    "additional": False,
    "required": ("kind", "name", "definition"),
    "props": {
        "kind": {"type": "string", "enum": ("EVENT_MATCH", "EVENT_PATTERN")},
        "name": NAME,
        "description": DESCRIPTION,
        "definition": {"type": "object"},
    },
}


def list_all(p: Platform, rid: Any, body: Any) -> Any:
    signals = [dict(s) for s in p.signals.values() if s["archivedAt"] is None]
    return "signal.list", {"signals": signals}, [], []


def get(p: Platform, rid: str, body: Any) -> Any:
    return (
        "signal.get",
        {"signal": dict(p._get(p.signals, "signal", rid))},
        [{"type": "signal", "id": rid}],
        [],
    )


def checked_signal(p: Platform, body: Any) -> dict[str, Any]:
    check_body(_SIGNAL, body)
    definition_spec = _EVENT_MATCH_DEFINITION if body["kind"] == "EVENT_MATCH" else _PATTERN_DEFINITION
    issues = validate(definition_spec, body["definition"], ["definition"])
    if not issues and body["kind"] == "EVENT_PATTERN":
        issues = _detection_issues(body["definition"]["detection"])
    if not issues:
        where = body["definition"] if body["kind"] == "EVENT_MATCH" else body["definition"]["detection"]
        path = ["definition"] if body["kind"] == "EVENT_MATCH" else ["definition", "detection"]
        issues = _condition_issues(where.get("propertyConditions"), [*path, "propertyConditions"])
    if issues:
        raise CommandError("validation_failed", f"definition: {issues[0]['message']}", {"issues": issues})
    return body


def create(p: Platform, rid: Any, body: Any) -> Any:
    body = checked_signal(p, body)
    signal = p._signal(body["kind"], body["name"], body["definition"], p._now(), body.get("description"))
    signal["managedBy"] = "CODE"
    return "signal.create", {"signal": dict(signal)}, [{"type": "signal", "id": signal["id"]}], []


def update(p: Platform, rid: str, body: Any) -> Any:
    signal = p._get(p.signals, "signal", rid)
    p._live(signal, "signal")
    body = checked_signal(p, body)
    signal.update(
        {
            "kind": body["kind"],
            "name": body["name"],
            "description": body.get("description"),
            "definition": body["definition"],
            "configHash": config_hash(body["definition"]),
            "updatedAt": p._now(),
        }
    )
    return "signal.update", {"signal": dict(signal)}, [{"type": "signal", "id": rid}], []


def archive(p: Platform, rid: str, body: Any) -> Any:
    return p._archive(p.signals, "signal", rid)
