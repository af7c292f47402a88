"""Platform commands on agents."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from ..validation import Spec, closed
from .store import ACTIONS, NAME, TEMPLATES, CommandError, Platform, check_body

_TEXT: Spec = {"type": "string", "min": 1, "max": 10000}
_ACTION_KEYS: Spec = {"type": "array", "items": {"type": "string", "min": 1}}
_AGENT_CUSTOM = closed(
    {
        "type": {"type": "string", "const": "custom"},
        "displayName": NAME,
        "instructions": _TEXT,
        "surfaceCriteria": _TEXT,
        "skipCriteria": _TEXT,
        "maxItemsToSurface": {"type": "integer", "min": 1, "max": 50},
        "actionKeys": _ACTION_KEYS,
    },
    "type",
    "displayName",
    "instructions",
    "surfaceCriteria",
)
_AGENT_TEMPLATE = closed(
    {
        "type": {"type": "string", "const": "template"},
        "templateKey": {"type": "string", "enum": ("churn",)},
        "mode": {"type": "string", "enum": ("draft",)},
    },
    "type",
    "templateKey",
)
_AGENT_UPDATE = closed({"displayName": NAME, "instructions": _TEXT, "actionKeys": _ACTION_KEYS})
_RENAME = closed({"displayName": NAME}, "displayName")


def listTemplates(p: Platform, rid: Any, body: Any) -> Any:
    return "agent.templates.list", {"templates": [dict(t) for t in TEMPLATES]}, [], []


def listAvailableActions(p: Platform, rid: Any, body: Any) -> Any:
    return "agent.availableActions.list", {"actions": [dict(a) for a in ACTIONS]}, [], []


def list_all(p: Platform, rid: Any, body: Any) -> Any:
    return "agent.list", {"agents": [p._agent_view(a) for a in p.agents.values()]}, [], []


def get(p: Platform, rid: str, body: Any) -> Any:
    agent = p._get(p.agents, "agent", rid)
    return "agent.get", {"agent": p._agent_view(agent)}, [{"type": "agent", "id": rid}], []


def create(p: Platform, rid: Any, body: Any) -> Any:
    if not isinstance(body, dict) or body.get("type") not in ("template", "custom"):
        raise CommandError("validation_failed", "type must be 'template' or 'custom'", {"path": ["type"]})
    now = p._now()
    if body["type"] == "template":
        check_body(_AGENT_TEMPLATE, body)
        if any(a["agentKey"] == "churn" for a in p.agents.values()):
            raise CommandError("conflict", "A churn template agent already exists; update it instead")
        agent = p._agent("churn", "Churn risk", now, ["send_slack_notification"], enabled=False)
        signal = p._event_signal("Churn risk activity", "usage_dropped", now)
        auto = p._automation(
            {
                "agentId": agent["id"],
                "name": "Churn risk review",
                "triggerType": "SIGNAL_OCCURRENCE",
                "enabled": False,
                "signalIds": [signal["id"]],
            },
            now,
        )
        resources = [
            {"type": "agent", "id": agent["id"]},
            {"type": "signal", "id": signal["id"]},
            {"type": "automation", "id": auto["id"]},
        ]
        warnings = ["Created in draft mode: nothing was enabled, scheduled or connected to a destination."]
        return "agent.create", {"agent": p._agent_view(agent)}, resources, warnings
    check_body(_AGENT_CUSTOM, body)
    _check_action_keys(body)
    base = re.sub(r"[^a-z0-9]+", "_", body["displayName"].lower()).strip("_") or "custom"
    taken = {a["agentKey"] for a in p.agents.values()}
    key = base
    for n in range(2, len(taken) + 3):  # agent keys stay unique, as Outlit keys them per organization
        if key not in taken:
            break
        key = f"{base}_{n}"
    agent = p._agent(key, body["displayName"], now, list(body.get("actionKeys", [])), enabled=False)
    agent["_instructions"] = body["instructions"]
    return "agent.create", {"agent": p._agent_view(agent)}, [{"type": "agent", "id": agent["id"]}], []


def _check_action_keys(body: dict[str, Any]) -> None:
    """actionKeys name actions GET /api/agent-actions lists ("actions an agent may reference")."""
    known = {a["key"] for a in ACTIONS}
    unknown = [k for k in body.get("actionKeys", []) if k not in known]
    if unknown:
        raise CommandError(
            "validation_failed", f"Unknown actionKeys: {', '.join(unknown)}", {"path": ["actionKeys"]}
        )


def update(p: Platform, rid: str, body: Any) -> Any:
    agent = p._get(p.agents, "agent", rid)
    check_body(_AGENT_UPDATE, body)
    _check_action_keys(body)
    if not body:
        raise CommandError("validation_failed", "Send at least one of displayName, instructions, actionKeys")
    if "displayName" in body:
        agent["displayName"] = body["displayName"]
    if "instructions" in body:
        agent["_instructions"] = body["instructions"]
    if "actionKeys" in body:
        agent["actionKeys"] = list(body["actionKeys"])
    agent["updatedAt"] = p._now()
    return "agent.update", {"agent": p._agent_view(agent)}, [{"type": "agent", "id": rid}], []


def rename(p: Platform, rid: str, body: Any) -> Any:
    agent = p._get(p.agents, "agent", rid)
    check_body(_RENAME, body)
    agent["displayName"] = body["displayName"]
    agent["updatedAt"] = p._now()
    return "agent.rename", {"agent": p._agent_view(agent)}, [{"type": "agent", "id": rid}], []


def toggle(enable: bool, p: Platform, rid: str, body: Any) -> Any:
    agent = p._get(p.agents, "agent", rid)
    agent["status"] = "ENABLED" if enable else "DISABLED"
    agent["schedule"] = {**agent["schedule"], "enabled": enable}
    agent["updatedAt"] = p._now()
    op = "agent.enable" if enable else "agent.disable"
    return op, {"agent": p._agent_view(agent)}, [{"type": "agent", "id": rid}], []


enable = partial(toggle, True)
disable = partial(toggle, False)
