"""Platform commands on destinations."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..validation import Spec, closed
from .store import DESCRIPTION, NAME, URL, CommandError, Platform, check_body, config_hash, mask_url

_WEBHOOK: dict[str, Spec] = {
    "name": NAME,
    "description": DESCRIPTION,
    "enabled": {"type": "boolean"},
    "url": {"type": "string", "uri": True, "pattern": URL},
}
_DESTINATION = closed({"type": {"type": "string", "const": "WEBHOOK_ENDPOINT"}, **_WEBHOOK}, "name", "url")
_DESTINATION_UPDATE: dict[str, Spec] = {
    "WEBHOOK_ENDPOINT": closed({"type": {"type": "string"}, **_WEBHOOK}, "type"),
    "SLACK_CHANNEL": closed(
        {"type": {"type": "string"}, "label": NAME, "enabled": {"type": "boolean"}}, "type"
    ),
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


def toggle(enable: bool, p: Platform, rid: str, body: Any) -> Any:
    dest = p._get(p.destinations, "destination", rid)
    p._live(dest, "destination")
    dest["enabled"] = enable
    dest["updatedAt"] = p._now()
    op = "destination.enable" if enable else "destination.disable"
    return op, {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []


enable = partial(toggle, True)
disable = partial(toggle, False)


def archive(p: Platform, rid: str, body: Any) -> Any:
    return p._archive(p.destinations, "destination", rid)
