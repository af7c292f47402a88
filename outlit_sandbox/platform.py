"""Platform actions: agents, automations, signals and destinations behind command envelopes.

Every success is ``{ok, commandId, commandVersion, correlationId, result: {operationId, status, resources,
data, warnings}}``; every failure is the command error envelope with a stable code (``validation_failed``
400, ``not_found`` 404, ``conflict`` 409).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .timeutil import iso
from .validation import Spec, validate

_STATUS = {"validation_failed": 400, "authorization_denied": 403, "not_found": 404, "conflict": 409}
_URL = re.compile(r"^(https://|http://(localhost|127\.0\.0\.1|\[::1\]|::1)([:/]|$))")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

ACTIONS = [
    {
        "key": "send_slack_notification",
        "version": 1,
        "label": "Send Slack notification",
        "category": "notify",
        "subjectTypes": ["CUSTOMER"],
    },
    {
        "key": "create_crm_task",
        "version": 1,
        "label": "Create CRM task",
        "category": "crm",
        "subjectTypes": ["CUSTOMER"],
    },
    {
        "key": "update_customer_fact",
        "version": 1,
        "label": "Update customer fact",
        "category": "memory",
        "subjectTypes": ["CUSTOMER"],
    },
]
TEMPLATES = [
    {
        "key": "churn",
        "version": "1",
        "name": "Churn risk",
        "description": "Watches usage and conversations for churn risk and surfaces at-risk customers.",
        "creates": ["agent", "signal", "automation"],
        "defaultMode": "draft",
        "supportedModes": ["draft"],
    }
]

_NAME: Spec = {"type": "string", "min": 1, "max": 120}
_DESC: Spec = {"type": "string", "max": 1000, "nullable": True}
_UUIDS: Spec = {"type": "array", "items": {"type": "string", "uuid": True}}
_AGENT_CUSTOM: Spec = {
    "type": "object",
    "additional": False,
    "required": ("type", "displayName", "instructions", "surfaceCriteria"),
    "props": {
        "type": {"type": "string", "const": "custom"},
        "displayName": _NAME,
        "instructions": {"type": "string", "min": 1, "max": 10000},
        "surfaceCriteria": {"type": "string", "min": 1, "max": 10000},
        "skipCriteria": {"type": "string", "min": 1, "max": 10000},
        "maxItemsToSurface": {"type": "integer", "min": 1, "max": 50},
        "actionKeys": {"type": "array", "items": {"type": "string", "min": 1}},
    },
}
_AGENT_TEMPLATE: Spec = {
    "type": "object",
    "additional": False,
    "required": ("type", "templateKey"),
    "props": {
        "type": {"type": "string", "const": "template"},
        "templateKey": {"type": "string", "enum": ("churn",)},
        "mode": {"type": "string", "enum": ("draft",)},
    },
}
_AGENT_UPDATE: Spec = {
    "type": "object",
    "additional": False,
    "props": {
        "displayName": _NAME,
        "instructions": {"type": "string", "min": 1, "max": 10000},
        "actionKeys": {"type": "array", "items": {"type": "string", "min": 1}},
    },
}
_RENAME: Spec = {
    "type": "object",
    "additional": False,
    "required": ("displayName",),
    "props": {"displayName": _NAME},
}
_AUTOMATION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("agentId", "name", "triggerType"),
    "props": {
        "agentId": {"type": "string", "uuid": True},
        "name": _NAME,
        "description": _DESC,
        "enabled": {"type": "boolean"},
        "triggerType": {"type": "string", "enum": ("SIGNAL_OCCURRENCE", "SCHEDULE")},
        "signalIds": {**_UUIDS, "max": 50},
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
        "destinationIds": {**_UUIDS, "max": 25},
    },
}
_AUTOMATION_UPDATE: Spec = {**_AUTOMATION, "required": ("agentId", "name", "enabled", "triggerType")}
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
        "name": _NAME,
        "description": _DESC,
        "definition": {"type": "object"},
    },
}
_DESTINATION: Spec = {
    "type": "object",
    "additional": False,
    "required": ("name", "url"),
    "props": {
        "type": {"type": "string", "const": "WEBHOOK_ENDPOINT"},
        "name": _NAME,
        "description": _DESC,
        "enabled": {"type": "boolean"},
        "url": {"type": "string", "pattern": _URL},
    },
}
_DESTINATION_UPDATE: dict[str, Spec] = {
    "WEBHOOK_ENDPOINT": {
        "type": "object",
        "additional": False,
        "required": ("type",),
        "props": {
            "type": {"type": "string"},
            "name": _NAME,
            "description": _DESC,
            "enabled": {"type": "boolean"},
            "url": {"type": "string", "pattern": _URL},
        },
    },
    "SLACK_CHANNEL": {
        "type": "object",
        "additional": False,
        "required": ("type",),
        "props": {"type": {"type": "string"}, "label": _NAME, "enabled": {"type": "boolean"}},
    },
}


class CommandError(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = _STATUS.get(code, 500)
        self.message = message
        self.details = details


def error_envelope(command_id: str, err: CommandError) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": err.code,
        "message": err.message,
        "correlationId": f"corr_{uuid.uuid4().hex[:16]}",
        "retryable": err.code in ("rate_limited", "transient_failure"),
    }
    if err.details is not None:
        error["details"] = err.details
    return {"ok": False, "commandId": command_id, "commandVersion": 1, "error": error}


def _check(spec: Spec, body: Any) -> dict[str, Any]:
    issues = validate(spec, body)
    if issues:
        first = issues[0]
        where = ".".join(str(p) for p in first["path"]) or "body"
        raise CommandError("validation_failed", f"{where}: {first['message']}", {"issues": issues})
    return body


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Platform:
    """Seeded platform configuration plus the command handlers."""

    def __init__(self, seed: int, now: datetime) -> None:
        self._rng = random.Random(f"{seed}:platform")
        self.agents: dict[str, dict[str, Any]] = {}
        self.automations: dict[str, dict[str, Any]] = {}
        self.signals: dict[str, dict[str, Any]] = {}
        self.destinations: dict[str, dict[str, Any]] = {}
        self._seed(now)

    # --------------------------------------------------------------------------------------- helpers
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    @staticmethod
    def _now() -> str:
        return iso(datetime.now(tz=UTC))

    def _seed(self, now: datetime) -> None:
        created = iso(now - timedelta(days=30))
        renewal = self._agent(
            "renewal_risk", "Renewal risk", created, ["send_slack_notification"], enabled=True
        )
        self._agent("expansion", "Expansion signals", created, ["create_crm_task"], enabled=False)
        slack = self._destination(
            "SLACK",
            "SLACK_CHANNEL",
            "#customer-alerts",
            {"channel": "#customer-alerts"},
            created,
            default=True,
        )
        hook = self._destination(
            "WEBHOOK", "WEBHOOK_ENDPOINT", "Ops webhook", {"url": "https://hooks.example.com/***"}, created
        )
        usage = self._signal(
            "EVENT_MATCH",
            "Usage dropped",
            {"grain": "customer", "subjectResolver": "event_customer", "eventNames": ["usage_dropped"]},
            created,
        )
        ticket = self._signal(
            "EVENT_MATCH",
            "Urgent ticket",
            {"grain": "customer", "subjectResolver": "event_customer", "eventNames": ["ticket_opened"]},
            created,
        )
        self._automation(
            {
                "agentId": renewal["id"],
                "name": "Renewal risk digest",
                "triggerType": "SCHEDULE",
                "enabled": True,
                "schedule": {"cadence": "weekly"},
                "destinationIds": [slack["id"]],
                "signalIds": [],
            },
            created,
        )
        self._automation(
            {
                "agentId": renewal["id"],
                "name": "Escalation watch",
                "triggerType": "SIGNAL_OCCURRENCE",
                "enabled": False,
                "signalIds": [usage["id"], ticket["id"]],
                "matchMode": "ANY",
                "destinationIds": [hook["id"]],
            },
            created,
        )

    def _agent(self, key: str, name: str, at: str, actions: list[str], *, enabled: bool) -> dict[str, Any]:
        agent = {
            "id": self._uuid(),
            "agentKey": key,
            "displayName": name,
            "status": "ENABLED" if enabled else "DISABLED",
            "templateVersion": "1",
            "actionKeys": actions,
            "schedule": {
                "enabled": enabled,
                "nextRunAt": None,
                "lastRunAt": None,
                "lastSuccessfulRunAt": None,
            },
            "createdAt": at,
            "updatedAt": at,
            "_instructions": "",
        }
        self.agents[agent["id"]] = agent
        return agent

    def _destination(
        self, provider: str, kind: str, name: str, masked: dict[str, Any], at: str, *, default: bool = False
    ) -> dict[str, Any]:
        dest = {
            "id": self._uuid(),
            "key": re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "destination",
            "name": name,
            "description": None,
            "provider": provider,
            "kind": kind,
            "enabled": True,
            "maskedConfig": masked,
            "syncStatus": "SYNCED",
            "lastSyncedAt": at,
            "providerErrorCode": None,
            "providerErrorMessage": None,
            "isDefault": default,
            "schemaVersion": "1",
            "configHash": _hash(masked),
            "archivedAt": None,
            "createdAt": at,
            "updatedAt": at,
        }
        self.destinations[dest["id"]] = dest
        return dest

    def _signal(
        self, kind: str, name: str, definition: dict[str, Any], at: str, desc: str | None = None
    ) -> dict[str, Any]:
        signal = {
            "id": self._uuid(),
            "key": re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "signal",
            "managedBy": "CODE",
            "name": name,
            "description": desc,
            "kind": kind,
            "definition": definition,
            "schemaVersion": "1",
            "configHash": _hash(definition),
            "archivedAt": None,
            "createdAt": at,
            "updatedAt": at,
        }
        self.signals[signal["id"]] = signal
        return signal

    def _automation(
        self, body: dict[str, Any], at: str, existing: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        auto = existing or {
            "id": self._uuid(),
            "createdAt": at,
            "archivedAt": None,
            "lastRunAt": None,
            "lastRunStatus": None,
        }
        auto.update(
            {
                "key": re.sub(r"[^a-z0-9]+", "_", body["name"].lower()).strip("_") or "automation",
                "managedBy": "CODE",
                "name": body["name"],
                "description": body.get("description"),
                "enabled": body.get("enabled", True),
                "triggerType": body["triggerType"],
                "triggerJson": {
                    k: body[k] for k in ("schedule", "triggerWindow", "triggerThresholdCount") if k in body
                },
                "audienceFilterJson": body.get("audienceFilter") or {},
                "agentId": body["agentId"],
                "matchMode": body.get("matchMode", "ANY"),
                "schemaVersion": "1",
                "nextRunAt": None,
                "updatedAt": at,
                "_signalIds": list(body.get("signalIds", [])),
                "_destinationIds": list(body.get("destinationIds", [])),
            }
        )
        auto["configHash"] = _hash({k: v for k, v in auto.items() if not k.endswith("At")})
        self.automations[auto["id"]] = auto
        return auto

    def _automation_view(self, auto: dict[str, Any]) -> dict[str, Any]:
        signals = [self.signals[i] for i in auto["_signalIds"] if i in self.signals]
        dests = [self.destinations[i] for i in auto["_destinationIds"] if i in self.destinations]
        out = {k: v for k, v in auto.items() if not k.startswith("_")}
        out["signals"] = [dict(s) for s in signals]
        out["destinations"] = [dict(d) for d in dests]
        out["activeSignalCount"] = sum(1 for s in signals if s["archivedAt"] is None)
        out["activeDestinationCount"] = sum(1 for d in dests if d["archivedAt"] is None and d["enabled"])
        return out

    @staticmethod
    def _agent_view(agent: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in agent.items() if not k.startswith("_")}

    def _get(self, table: dict[str, dict[str, Any]], kind: str, rid: str) -> dict[str, Any]:
        item = table.get(rid)
        if item is None:
            raise CommandError("not_found", f"No {kind} with id {rid!r} in this organization")
        return item

    @staticmethod
    def _live(item: dict[str, Any], kind: str) -> None:
        if item.get("archivedAt"):
            raise CommandError("conflict", f"The {kind} is archived and cannot be changed")

    def _refs(self, body: dict[str, Any]) -> None:
        if body["agentId"] not in self.agents:
            raise CommandError("not_found", f"No agent with id {body['agentId']!r}")
        for sid in body.get("signalIds", []):
            if sid not in self.signals:
                raise CommandError("not_found", f"No signal with id {sid!r}")
        for did in body.get("destinationIds", []):
            if did not in self.destinations:
                raise CommandError("not_found", f"No destination with id {did!r}")

    # --------------------------------------------------------------------------------------- commands
    def run(
        self, command: str, rid: str | None, body: Any
    ) -> tuple[str, dict[str, Any], list[dict[str, str]], list[str]]:
        """Execute a command; returns (operationId, data, resources, warnings) or raises CommandError."""
        handler = getattr(self, "_" + command.replace(".", "_"))
        return handler(rid, body)

    def _agent_listTemplates(self, rid: Any, body: Any) -> Any:
        return "agent.templates.list", {"templates": [dict(t) for t in TEMPLATES]}, [], []

    def _agent_listAvailableActions(self, rid: Any, body: Any) -> Any:
        return "agent.availableActions.list", {"actions": [dict(a) for a in ACTIONS]}, [], []

    def _agent_list(self, rid: Any, body: Any) -> Any:
        return "agent.list", {"agents": [self._agent_view(a) for a in self.agents.values()]}, [], []

    def _agent_get(self, rid: str, body: Any) -> Any:
        agent = self._get(self.agents, "agent", rid)
        return "agent.get", {"agent": self._agent_view(agent)}, [{"type": "agent", "id": rid}], []

    def _agent_create(self, rid: Any, body: Any) -> Any:
        if not isinstance(body, dict) or body.get("type") not in ("template", "custom"):
            raise CommandError("validation_failed", "type must be 'template' or 'custom'", {"path": ["type"]})
        now = self._now()
        if body["type"] == "template":
            _check(_AGENT_TEMPLATE, body)
            if any(a["agentKey"] == "churn" for a in self.agents.values()):
                raise CommandError("conflict", "A churn template agent already exists; update it instead")
            agent = self._agent("churn", "Churn risk", now, ["send_slack_notification"], enabled=False)
            signal = self._signal(
                "EVENT_MATCH",
                "Churn risk activity",
                {"grain": "customer", "subjectResolver": "event_customer", "eventNames": ["usage_dropped"]},
                now,
            )
            auto = self._automation(
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
            warnings = [
                "Created in draft mode: nothing was enabled, scheduled or connected to a destination."
            ]
            return "agent.create", {"agent": self._agent_view(agent)}, resources, warnings
        _check(_AGENT_CUSTOM, body)
        known = {a["key"] for a in ACTIONS}
        unknown = [k for k in body.get("actionKeys", []) if k not in known]
        if unknown:
            raise CommandError(
                "validation_failed", f"Unknown actionKeys: {', '.join(unknown)}", {"path": ["actionKeys"]}
            )
        base = re.sub(r"[^a-z0-9]+", "_", body["displayName"].lower()).strip("_") or "custom"
        taken = {a["agentKey"] for a in self.agents.values()}
        key = base
        for n in range(2, len(taken) + 3):  # agent keys stay unique, as Outlit keys them per organization
            if key not in taken:
                break
            key = f"{base}_{n}"
        agent = self._agent(key, body["displayName"], now, list(body.get("actionKeys", [])), enabled=False)
        agent["_instructions"] = body["instructions"]
        return "agent.create", {"agent": self._agent_view(agent)}, [{"type": "agent", "id": agent["id"]}], []

    def _agent_update(self, rid: str, body: Any) -> Any:
        agent = self._get(self.agents, "agent", rid)
        _check(_AGENT_UPDATE, body)
        if not body:
            raise CommandError(
                "validation_failed", "Send at least one of displayName, instructions, actionKeys"
            )
        if "displayName" in body:
            agent["displayName"] = body["displayName"]
        if "instructions" in body:
            agent["_instructions"] = body["instructions"]
        if "actionKeys" in body:
            agent["actionKeys"] = list(body["actionKeys"])
        agent["updatedAt"] = self._now()
        return "agent.update", {"agent": self._agent_view(agent)}, [{"type": "agent", "id": rid}], []

    def _agent_rename(self, rid: str, body: Any) -> Any:
        agent = self._get(self.agents, "agent", rid)
        _check(_RENAME, body)
        agent["displayName"] = body["displayName"]
        agent["updatedAt"] = self._now()
        return "agent.rename", {"agent": self._agent_view(agent)}, [{"type": "agent", "id": rid}], []

    def _agent_toggle(self, rid: str, enable: bool) -> Any:
        agent = self._get(self.agents, "agent", rid)
        agent["status"] = "ENABLED" if enable else "DISABLED"
        agent["schedule"] = {**agent["schedule"], "enabled": enable}
        agent["updatedAt"] = self._now()
        op = "agent.enable" if enable else "agent.disable"
        return op, {"agent": self._agent_view(agent)}, [{"type": "agent", "id": rid}], []

    def _agent_enable(self, rid: str, body: Any) -> Any:
        return self._agent_toggle(rid, True)

    def _agent_disable(self, rid: str, body: Any) -> Any:
        return self._agent_toggle(rid, False)

    def _automation_list(self, rid: Any, body: Any) -> Any:
        autos = [self._automation_view(a) for a in self.automations.values() if a["archivedAt"] is None]
        return "automation.list", {"automations": autos}, [], []

    def _automation_get(self, rid: str, body: Any) -> Any:
        auto = self._get(self.automations, "automation", rid)
        return (
            "automation.get",
            {"automation": self._automation_view(auto)},
            [{"type": "automation", "id": rid}],
            [],
        )

    def _automation_create(self, rid: Any, body: Any) -> Any:
        _check(_AUTOMATION, body)
        self._refs(body)
        auto = self._automation(body, self._now())
        if auto["enabled"]:
            self._can_enable(auto)
        return (
            "automation.create",
            {"automation": self._automation_view(auto)},
            [{"type": "automation", "id": auto["id"]}],
            [],
        )

    def _automation_update(self, rid: str, body: Any) -> Any:
        auto = self._get(self.automations, "automation", rid)
        self._live(auto, "automation")
        _check(_AUTOMATION_UPDATE, body)
        self._refs(body)
        self._automation(body, self._now(), existing=auto)
        if auto["enabled"]:
            self._can_enable(auto)
        return (
            "automation.update",
            {"automation": self._automation_view(auto)},
            [{"type": "automation", "id": rid}],
            [],
        )

    def _can_enable(self, auto: dict[str, Any]) -> None:
        agent = self.agents.get(auto["agentId"])
        if agent is None:
            raise CommandError("conflict", "The automation's processor agent no longer exists")
        for did in auto["_destinationIds"]:
            dest = self.destinations.get(did)
            if dest is None or dest["archivedAt"] or not dest["enabled"]:
                raise CommandError(
                    "conflict", f"Destination {did} is unavailable: enable or replace it first"
                )

    def _automation_enable(self, rid: str, body: Any) -> Any:
        auto = self._get(self.automations, "automation", rid)
        self._live(auto, "automation")
        self._can_enable(auto)
        auto["enabled"] = True
        auto["updatedAt"] = self._now()
        return (
            "automation.enable",
            {"automation": self._automation_view(auto)},
            [{"type": "automation", "id": rid}],
            [],
        )

    def _automation_disable(self, rid: str, body: Any) -> Any:
        auto = self._get(self.automations, "automation", rid)
        self._live(auto, "automation")
        auto["enabled"] = False
        auto["updatedAt"] = self._now()
        return (
            "automation.disable",
            {"automation": self._automation_view(auto)},
            [{"type": "automation", "id": rid}],
            [],
        )

    def _archive(self, table: dict[str, dict[str, Any]], kind: str, rid: str) -> Any:
        item = self._get(table, kind, rid)
        self._live(item, kind)
        item["archivedAt"] = self._now()
        if "enabled" in item:
            item["enabled"] = False
        item["updatedAt"] = item["archivedAt"]
        data = {kind: {"id": rid, "archivedAt": item["archivedAt"]}}
        return f"{kind}.archive", data, [{"type": kind, "id": rid}], []

    def _automation_archive(self, rid: str, body: Any) -> Any:
        return self._archive(self.automations, "automation", rid)

    def _signal_list(self, rid: Any, body: Any) -> Any:
        signals = [dict(s) for s in self.signals.values() if s["archivedAt"] is None]
        return "signal.list", {"signals": signals}, [], []

    def _signal_get(self, rid: str, body: Any) -> Any:
        return (
            "signal.get",
            {"signal": dict(self._get(self.signals, "signal", rid))},
            [{"type": "signal", "id": rid}],
            [],
        )

    def _signal_body(self, body: Any) -> dict[str, Any]:
        _check(_SIGNAL, body)
        definition_spec = _EVENT_MATCH_DEFINITION if body["kind"] == "EVENT_MATCH" else _PATTERN_DEFINITION
        issues = validate(definition_spec, body["definition"], ["definition"])
        if issues:
            raise CommandError("validation_failed", f"definition: {issues[0]['message']}", {"issues": issues})
        return body

    def _signal_create(self, rid: Any, body: Any) -> Any:
        body = self._signal_body(body)
        signal = self._signal(
            body["kind"], body["name"], body["definition"], self._now(), body.get("description")
        )
        signal["managedBy"] = "CODE"
        return "signal.create", {"signal": dict(signal)}, [{"type": "signal", "id": signal["id"]}], []

    def _signal_update(self, rid: str, body: Any) -> Any:
        signal = self._get(self.signals, "signal", rid)
        self._live(signal, "signal")
        body = self._signal_body(body)
        signal.update(
            {
                "kind": body["kind"],
                "name": body["name"],
                "description": body.get("description"),
                "definition": body["definition"],
                "configHash": _hash(body["definition"]),
                "updatedAt": self._now(),
            }
        )
        return "signal.update", {"signal": dict(signal)}, [{"type": "signal", "id": rid}], []

    def _signal_archive(self, rid: str, body: Any) -> Any:
        return self._archive(self.signals, "signal", rid)

    def _destination_list(self, rid: Any, body: Any) -> Any:
        dests = [dict(d) for d in self.destinations.values() if d["archivedAt"] is None]
        return "destination.list", {"destinations": dests}, [], []

    def _destination_get(self, rid: str, body: Any) -> Any:
        dest = self._get(self.destinations, "destination", rid)
        return "destination.get", {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []

    def _destination_create(self, rid: Any, body: Any) -> Any:
        _check(_DESTINATION, body)
        masked = {"url": _mask_url(body["url"])}
        dest = self._destination("WEBHOOK", "WEBHOOK_ENDPOINT", body["name"], masked, self._now())
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

    def _destination_update(self, rid: str, body: Any) -> Any:
        dest = self._get(self.destinations, "destination", rid)
        self._live(dest, "destination")
        if not isinstance(body, dict) or body.get("type") not in _DESTINATION_UPDATE:
            raise CommandError(
                "validation_failed", "type must be WEBHOOK_ENDPOINT or SLACK_CHANNEL", {"path": ["type"]}
            )
        _check(_DESTINATION_UPDATE[body["type"]], body)
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
            dest["maskedConfig"] = {"url": _mask_url(body["url"])}
            dest["configHash"] = _hash(dest["maskedConfig"])
        dest["updatedAt"] = self._now()
        return "destination.update", {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []

    def _destination_toggle(self, rid: str, enable: bool) -> Any:
        dest = self._get(self.destinations, "destination", rid)
        self._live(dest, "destination")
        dest["enabled"] = enable
        dest["updatedAt"] = self._now()
        op = "destination.enable" if enable else "destination.disable"
        return op, {"destination": dict(dest)}, [{"type": "destination", "id": rid}], []

    def _destination_enable(self, rid: str, body: Any) -> Any:
        return self._destination_toggle(rid, True)

    def _destination_disable(self, rid: str, body: Any) -> Any:
        return self._destination_toggle(rid, False)

    def _destination_archive(self, rid: str, body: Any) -> Any:
        return self._archive(self.destinations, "destination", rid)


def _mask_url(url: str) -> str:
    """Keep scheme and host, hide the path (webhook paths often carry secrets)."""
    match = re.match(r"^(https?://[^/]+)", url)
    return (match.group(1) if match else "") + "/***"


# (method, path template) -> command id; paths use {id} for the resource id
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/api/agent-templates", "agent.listTemplates"),
    ("GET", "/api/agent-actions", "agent.listAvailableActions"),
    ("GET", "/api/agents", "agent.list"),
    ("POST", "/api/agents", "agent.create"),
    ("GET", "/api/agents/{id}", "agent.get"),
    ("PATCH", "/api/agents/{id}", "agent.update"),
    ("POST", "/api/agents/{id}/enable", "agent.enable"),
    ("POST", "/api/agents/{id}/disable", "agent.disable"),
    ("POST", "/api/agents/{id}/rename", "agent.rename"),
    ("GET", "/api/automations", "automation.list"),
    ("POST", "/api/automations", "automation.create"),
    ("GET", "/api/automations/{id}", "automation.get"),
    ("PATCH", "/api/automations/{id}", "automation.update"),
    ("POST", "/api/automations/{id}/enable", "automation.enable"),
    ("POST", "/api/automations/{id}/disable", "automation.disable"),
    ("POST", "/api/automations/{id}/archive", "automation.archive"),
    ("GET", "/api/signals", "signal.list"),
    ("POST", "/api/signals", "signal.create"),
    ("GET", "/api/signals/{id}", "signal.get"),
    ("PATCH", "/api/signals/{id}", "signal.update"),
    ("POST", "/api/signals/{id}/archive", "signal.archive"),
    ("GET", "/api/destinations", "destination.list"),
    ("POST", "/api/destinations", "destination.create"),
    ("GET", "/api/destinations/{id}", "destination.get"),
    ("PATCH", "/api/destinations/{id}", "destination.update"),
    ("POST", "/api/destinations/{id}/enable", "destination.enable"),
    ("POST", "/api/destinations/{id}/disable", "destination.disable"),
    ("POST", "/api/destinations/{id}/archive", "destination.archive"),
]
BODY_COMMANDS = {
    "agent.create",
    "agent.update",
    "agent.rename",
    "automation.create",
    "automation.update",
    "signal.create",
    "signal.update",
    "destination.create",
    "destination.update",
}


def is_uuid(value: str) -> bool:
    return bool(_UUID_RE.match(value))
