"""Platform commands on automations."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..validation import Spec
from .store import DESCRIPTION, NAME, UUIDS, Platform, check_body

_AUTOMATION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("agentId", "name", "triggerType"),
    "props": {
        "agentId": {"type": "string", "uuid": True},
        "name": NAME,
        "description": DESCRIPTION,
        "enabled": {"type": "boolean"},
        "triggerType": {"type": "string", "enum": ("SIGNAL_OCCURRENCE", "SCHEDULE")},
        "signalIds": {**UUIDS, "max": 50},
        "matchMode": {"type": "string", "enum": ("ANY", "ALL", "AT_LEAST")},
        "triggerWindow": {
            "type": "object",
            "additional": False,
            "required": ("value", "unit"),
            "props": {
                "value": {"type": "integer", "min": 1},
                "unit": {"type": "string", "enum": ("hour", "day")},
            },
        },
        "triggerThresholdCount": {"type": "integer", "min": 2, "max": 5},
        "schedule": {
            "type": "object",
            "required": ("cadence",),
            "props": {"cadence": {"type": "string", "enum": ("hourly", "daily", "weekly")}},
        },
        "audienceFilter": {"type": "object"},
        "processorPolicy": {"type": "object"},
        "deliveryPolicy": {"type": "object"},
        "destinationIds": {**UUIDS, "max": 25},
    },
}


_AUTOMATION_UPDATE: Spec = {**_AUTOMATION, "required": ("agentId", "name", "enabled", "triggerType")}


def list_all(p: Platform, rid: Any, body: Any) -> Any:
    autos = [p._automation_view(a) for a in p.automations.values() if a["archivedAt"] is None]
    return "automation.list", {"automations": autos}, [], []


def get(p: Platform, rid: str, body: Any) -> Any:
    auto = p._get(p.automations, "automation", rid)
    return (
        "automation.get",
        {"automation": p._automation_view(auto)},
        [{"type": "automation", "id": rid}],
        [],
    )


def create(p: Platform, rid: Any, body: Any) -> Any:
    check_body(_AUTOMATION, body)
    p._refs(body)
    return _saved(p, "create", p._automation(body, p._now()))


def update(p: Platform, rid: str, body: Any) -> Any:
    auto = p._get(p.automations, "automation", rid)
    p._live(auto, "automation")
    check_body(_AUTOMATION_UPDATE, body)
    p._refs(body)
    return _saved(p, "update", p._automation(body, p._now(), existing=auto))


def toggle(enable: bool, p: Platform, rid: str, body: Any) -> Any:
    auto = p._get(p.automations, "automation", rid)
    p._live(auto, "automation")
    if enable:
        p._can_enable(auto)
    auto["enabled"] = enable
    auto["updatedAt"] = p._now()
    return _answer(p, "enable" if enable else "disable", auto)


enable = partial(toggle, True)
disable = partial(toggle, False)


def archive(p: Platform, rid: str, body: Any) -> Any:
    return p._archive(p.automations, "automation", rid)


def _saved(p: Platform, operation: str, auto: dict[str, Any]) -> Any:
    """A created or updated automation that is enabled must still be able to run."""
    if auto["enabled"]:
        p._can_enable(auto)
    return _answer(p, operation, auto)


def _answer(p: Platform, operation: str, auto: dict[str, Any]) -> Any:
    """A command's result: the automation as the API shows it, named as the one resource touched."""
    view = {"automation": p._automation_view(auto)}
    return f"automation.{operation}", view, [{"type": "automation", "id": auto["id"]}], []
