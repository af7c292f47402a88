"""Platform commands on signals."""

from __future__ import annotations

from typing import Any

from ..validation import Spec, validate
from .store import DESCRIPTION, NAME, CommandError, Platform, check_body, config_hash

_EVENT_MATCH_DEFINITION: Spec = {
    "type": "object",
    "required": ("grain", "subjectResolver", "eventNames"),
    "props": {
        "grain": {"type": "string", "enum": ("organization", "customer", "segment")},
        "subjectResolver": {"type": "string", "enum": ("organization", "event_customer", "segment")},
        "eventNames": {"type": "array", "min": 1, "max": 50, "items": {"type": "string", "min": 1}},
    },
}


_PATTERN_DEFINITION: Spec = {
    "type": "object",
    "required": ("schemaVersion", "subjectType", "detection"),
    "props": {"subjectType": {"type": "string", "const": "customer"}, "detection": {"type": "object"}},
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
