"""Platform commands on destinations."""

from __future__ import annotations

from typing import Any

from ..validation import Spec
from .store import DESCRIPTION, NAME, URL, CommandError, Platform, check_body, config_hash, mask_url

_DESTINATION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("name", "url"),
    "props": {
        "type": {"type": "string", "const": "WEBHOOK_ENDPOINT"},
        "name": NAME,
        "description": DESCRIPTION,
        "enabled": {"type": "boolean"},
        "url": {"type": "string", "uri": True, "pattern": URL},
    },
}


_DESTINATION_UPDATE: dict[str, Spec] = {
    "WEBHOOK_ENDPOINT": {
        "type": "object",
        "additional": False,
        "required": ("type",),
        "props": {
            "type": {"type": "string"},
            "name": NAME,
            "description": DESCRIPTION,
            "enabled": {"type": "boolean"},
            "url": {"type": "string", "uri": True, "pattern": URL},
        },
    },
    "SLACK_CHANNEL": {
        "type": "object",
        "additional": False,
        "required": ("type",),
        "props": {"type": {"type": "string"}, "label": NAME, "enabled": {"type": "boolean"}},
    },
}


def list_all(p: Platform, rid: Any, body: Any) -> Any:
    dests = [dict(d) for d in p.destinations.values() if d["archivedAt"] is None]
    return "destination.list", {"destinations": dests}, [], []


def get(p: Platform, rid: str, body: Any) -> Any:
    dest = p._get(p.destinations, "destination", rid)
    return "destination.get", {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []


def create(p: Platform, rid: Any, body: Any) -> Any:
    check_body(_DESTINATION, body)
    masked = {"url": mask_url(body["url"])}
    dest = p._destination("WEBHOOK", "WEBHOOK_ENDPOINT", body["name"], masked, p._now())
    dest["description"] = body.get("description")
    dest["enabled"] = body.get("enabled", True)
    dest["syncStatus"] = "PENDING_PROVIDER_SYNC"
    dest["lastSyncedAt"] = None
    return (
        "destination.create",
        {"destination": dict(dest)},
        [{"type": "destination", "id": dest["id"]}],
        [],
    )


def update(p: Platform, rid: str, body: Any) -> Any:
    dest = p._get(p.destinations, "destination", rid)
    p._live(dest, "destination")
    if not isinstance(body, dict) or body.get("type") not in _DESTINATION_UPDATE:
        raise CommandError(
            "validation_failed", "type must be WEBHOOK_ENDPOINT or SLACK_CHANNEL", {"path": ["type"]}
        )
    check_body(_DESTINATION_UPDATE[body["type"]], body)
    if len(body) < 2:
        raise CommandError("validation_failed", "Send at least one field to change besides type")
    if body["type"] != dest["kind"]:
        raise CommandError("conflict", f"Destination {rid} is a {dest['kind']}, not a {body['type']}")
    for key in ("name", "description", "enabled"):
        if key in body:
            dest[key] = body[key]
    if "label" in body:
        dest["name"] = body["label"]
    if "url" in body:
        dest["maskedConfig"] = {"url": mask_url(body["url"])}
        dest["configHash"] = config_hash(dest["maskedConfig"])
    dest["updatedAt"] = p._now()
    return "destination.update", {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []


def toggle(p: Platform, rid: str, enable: bool) -> Any:
    dest = p._get(p.destinations, "destination", rid)
    p._live(dest, "destination")
    dest["enabled"] = enable
    dest["updatedAt"] = p._now()
    op = "destination.enable" if enable else "destination.disable"
    return op, {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []


def enable(p: Platform, rid: str, body: Any) -> Any:
    return toggle(p, rid, True)


def disable(p: Platform, rid: str, body: Any) -> Any:
    return toggle(p, rid, False)


def archive(p: Platform, rid: str, body: Any) -> Any:
    return p._archive(p.destinations, "destination", rid)
