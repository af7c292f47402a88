"""Platform state: seeded agents, automations, signals and destinations, and helpers their commands share.

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

from ..timeutil import iso
from ..validation import Spec, validate

_STATUS = {"validation_failed": 400, "authorization_denied": 403, "not_found": 404, "conflict": 409}


URL = re.compile(r"^(https://|http://(localhost|127\.0\.0\.1|\[::1\]|::1)([:/]|$))")


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


NAME: Spec = {"type": "string", "min": 1, "max": 120}


DESCRIPTION: Spec = {"type": "string", "max": 1000, "nullable": True}


UUIDS: Spec = {"type": "array", "items": {"type": "string", "uuid": True}}


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


def check_body(spec: Spec, body: Any) -> dict[str, Any]:
    issues = validate(spec, body)
    if issues:
        first = issues[0]
        where = ".".join(str(p) for p in first["path"]) or "body"
        raise CommandError("validation_failed", f"{where}: {first['message']}", {"issues": issues})
    return body


def config_hash(data: Any) -> str:
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
        usage = self._event_signal("Usage dropped", "usage_dropped", created)
        ticket = self._event_signal("Urgent ticket", "ticket_opened", created)
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
        agent: dict[str, Any] = {
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
        dest: dict[str, Any] = {
            **self._named(name, None, "destination"),
            "provider": provider,
            "kind": kind,
            "enabled": True,
            "maskedConfig": masked,
            "syncStatus": "SYNCED",
            "lastSyncedAt": at,
            "providerErrorCode": None,
            "providerErrorMessage": None,
            "isDefault": default,
            **_versioned(masked, at),
        }
        self.destinations[dest["id"]] = dest
        return dest

    def _signal(
        self, kind: str, name: str, definition: dict[str, Any], at: str, desc: str | None = None
    ) -> dict[str, Any]:
        signal: dict[str, Any] = {
            **self._named(name, desc, "signal"),
            "managedBy": "CODE",
            "kind": kind,
            "definition": definition,
            **_versioned(definition, at),
        }
        self.signals[signal["id"]] = signal
        return signal

    def _named(self, name: str, description: str | None, fallback: str) -> dict[str, Any]:
        """A new resource's ``id``, ``key`` (snake-case name, or ``fallback``), name and description."""
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or fallback
        return {"id": self._uuid(), "key": key, "name": name, "description": description}

    def _event_signal(self, name: str, event_name: str, at: str) -> dict[str, Any]:
        """An EVENT_MATCH signal on one event name, per customer (the kind the seed and templates make)."""
        definition = {"grain": "customer", "subjectResolver": "event_customer", "eventNames": [event_name]}
        return self._signal("EVENT_MATCH", name, definition, at)

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
        auto["configHash"] = config_hash({k: v for k, v in auto.items() if not k.endswith("At")})
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

    def _archive(self, table: dict[str, dict[str, Any]], kind: str, rid: str) -> Any:
        item = self._get(table, kind, rid)
        self._live(item, kind)
        item["archivedAt"] = self._now()
        if "enabled" in item:
            item["enabled"] = False
        item["updatedAt"] = item["archivedAt"]
        data = {kind: {"id": rid, "archivedAt": item["archivedAt"]}}
        return f"{kind}.archive", data, [{"type": kind, "id": rid}], []


def mask_url(url: str) -> str:
    """Keep scheme and host, hide the path (webhook paths often carry secrets)."""
    match = re.match(r"^(https?://[^/]+)", url)
    return (match.group(1) if match else "") + "/***"


def is_uuid(value: str) -> bool:
    return bool(_UUID_RE.match(value))


def _versioned(config: dict[str, Any], at: str) -> dict[str, Any]:
    """The version and lifecycle fields every configurable resource (destination, signal) carries."""
    return {
        "schemaVersion": "1",
        "configHash": config_hash(config),
        "archivedAt": None,
        "createdAt": at,
        "updatedAt": at,
    }
