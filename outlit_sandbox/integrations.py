"""Integration routes: provider catalog, connections, browser sessions, sync status and setup steps.

Progress is driven by polls, not wall-clock time, so tests never sleep: a browser session answers
``pending`` on its first status poll and ``connected`` on the next; a new connection's sync models answer
``PENDING`` on the first sync-status poll and ``SUCCESS`` afterwards (``FAILED`` for the failing provider).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import ApiError, refuse_unknown_keys
from .timeutil import iso
from .validation import type_name

# id: (name, category, setup mode, credential type, required fields, post-connect steps, sync models)
PROVIDERS: dict[str, dict[str, Any]] = {
    "hubspot": {
        "name": "HubSpot",
        "category": "crm",
        "fields": (),
        "steps": ("mappings",),
        "models": ("HubspotCompany", "HubspotContact", "HubspotDeal"),
    },
    "attio": {
        "name": "Attio",
        "category": "crm",
        "fields": (),
        "steps": ("mappings",),
        "models": ("AttioCompany", "AttioPerson", "AttioDeal"),
    },
    "slack": {
        "name": "Slack",
        "category": "communication",
        "fields": (),
        "steps": (),
        "models": ("SlackChannel", "SlackMessage"),
    },
    "fireflies": {
        "name": "Fireflies.ai",
        "category": "calls",
        "fields": (("apiKey", "API Key"),),
        "steps": ("webhooks",),
        "models": ("FirefliesTranscript",),
    },
    "granola": {
        "name": "Granola",
        "category": "calls",
        "fields": (("apiKey", "API Key"),),
        "steps": (),
        "models": ("GranolaNote",),
    },
    "google-calendar": {
        "name": "Google Calendar",
        "category": "calendar",
        "fields": (),
        "steps": (),
        "models": ("CalendarEvent",),
    },
    "google-mail": {
        "name": "Gmail",
        "category": "communication",
        "fields": (),
        "steps": (),
        "models": ("GmailThread", "GmailMessage"),
    },
    "posthog": {
        "name": "PostHog",
        "category": "analytics",
        "fields": (("apiKey", "API Key"), ("region", "Region"), ("projectId", "Project ID")),
        "steps": (),
        "models": ("PosthogEvent", "PosthogPerson"),
    },
    "stripe": {
        "name": "Stripe",
        "category": "billing",
        "fields": (("apiKey", "API Key"),),
        "steps": ("webhooks",),
        "models": ("StripeCustomer", "StripeSubscription", "StripeInvoice"),
    },
    "supabase": {
        "name": "Supabase Auth",
        "category": "analytics",
        "fields": (("projectUrl", "Project URL"), ("serviceRoleKey", "Service Role Key")),
        "steps": (),
        "models": ("SupabaseUser",),
    },
    "clerk": {
        "name": "Clerk",
        "category": "analytics",
        "fields": (("secretKey", "Secret Key"),),
        "steps": (),
        "models": ("ClerkUser", "ClerkOrganization"),
    },
    "pylon": {
        "name": "Pylon",
        "category": "support",
        "fields": (("apiToken", "API Token"),),
        "steps": ("webhooks",),
        "models": ("PylonIssue", "PylonAccount"),
    },
}
ALIASES = {"gmail": "google-mail"}
SECRET_FIELDS = {"apiKey", "serviceRoleKey", "secretKey", "apiToken"}
FAILING_PROVIDER = "hubspot"
SEEDED_CONNECTED = ("stripe", "hubspot", "slack", "fireflies", "google-mail")
_WEBHOOK_EVENTS = {
    "stripe": ["customer.subscription.updated", "invoice.paid", "customer.updated"],
    "fireflies": ["Transcription completed"],
    "pylon": ["issue.created", "issue.updated"],
}


def resolve(provider: Any, field_name: str = "provider") -> str:
    if not isinstance(provider, str) or not provider:
        raise ApiError(
            400, f"Missing {field_name}: pass one of {', '.join(PROVIDERS)}", code="INVALID_REQUEST"
        )
    pid = ALIASES.get(provider.strip().lower(), provider.strip().lower())
    if pid not in PROVIDERS:
        raise ApiError(
            400,
            f"Unknown {field_name} {provider!r}: use one of {', '.join(PROVIDERS)}",
            code="INVALID_REQUEST",
            details=[{"path": [field_name], "message": f"Unknown provider {provider!r}"}],
        )
    return pid


def capability(pid: str) -> dict[str, Any]:
    spec = PROVIDERS[pid]
    direct = bool(spec["fields"])
    cli = "gmail" if pid == "google-mail" else pid
    # Outlit's CLI reads connectSupported/authType/displayName and treats a missing connectSupported as
    # "cannot connect" (official/cli-providers.ts), so every field it reads is returned.
    return {
        "cliName": cli,
        "providerId": pid,
        "displayName": spec["name"],
        "category": spec["category"],
        "authType": "api_key" if direct else "oauth",
        "connectSupported": True,
        "setupMode": "direct_api_key" if direct else "browser_session",
        "credentialType": ("api_token" if pid == "pylon" else "api_key") if direct else None,
        "requiredFields": [
            {"key": k, "label": label, "secret": k in SECRET_FIELDS} for k, label in spec["fields"]
        ],
        "commands": [f"outlit integrations setup {cli}"],
        "postConnectSteps": [
            {
                "id": "webhook-setup" if step == "webhooks" else step,
                "label": "Webhook setup" if step == "webhooks" else "CRM mappings",
                # integrations.md shows pylon's webhook step as required
                "required": step == "mappings" or pid == "pylon",
                "supported": True,
                "command": f"outlit integrations setup {cli} {step}",
            }
            for step in spec["steps"]
        ],
        "notes": [],
    }


def _check_config(pid: str, config: dict[str, Any]) -> None:
    """A direct-credential config holds each required field as a non-empty string (Outlit's CLI refuses a
    falsy one before sending: setup.ts parseConfigOrExit); a browser-auth provider takes none. Checked
    before anything else, so an invalid request is refused even for a provider already connected."""
    spec = PROVIDERS[pid]
    if not spec["fields"]:
        raise ApiError(
            400,
            f"{spec['name']} connects through a browser session: omit config and open the connectUrl",
            code="INVALID_REQUEST",
            details=[{"path": ["config"], "message": "not supported for this provider"}],
        )
    missing = [k for k, _ in spec["fields"] if not isinstance(config.get(k), str) or not config[k]]
    if missing:
        raise ApiError(
            400,
            f"Missing credential field(s) for {pid}: {', '.join(missing)}",
            code="INVALID_REQUEST",
            details=[{"path": ["config", k], "message": "Required"} for k in missing],
        )


# A connected integration keeps syncing: its models complete a sync on every whole SYNC_EVERY of the
# sandbox clock, so "synced after the data interval end" is reached within one sensor poke.
SYNC_EVERY = timedelta(minutes=1)


def last_sync(done_at: datetime, now: datetime) -> datetime:
    """When the latest periodic sync of a connection whose first sync finished at ``done_at`` completed."""
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    tick = epoch + (now - epoch) // SYNC_EVERY * SYNC_EVERY
    return max(done_at, tick)


@dataclass
class Connection:
    connection_id: str
    connected_at: datetime
    syncs: list[dict[str, Any]]
    polls: int = 0
    last_data: datetime | None = None  # when the first sync completed (None: still pending)

    def current_syncs(self, pid: str, now: datetime) -> list[dict[str, Any]]:
        if self.last_data is None or pid == FAILING_PROVIDER:
            return [dict(s) for s in self.syncs]
        at = iso(last_sync(self.last_data, now))
        return [{**s, "lastSyncedAt": at} if s["status"] == "SUCCESS" else dict(s) for s in self.syncs]

    def last_received(self, pid: str, now: datetime) -> str | None:
        if self.last_data is None:
            return None
        return iso(self.last_data if pid == FAILING_PROVIDER else last_sync(self.last_data, now))


@dataclass
class Session:
    session_id: str
    provider: str
    polls: int = 0
    status: str = "pending"


@dataclass
class Integrations:
    org_id: str
    connection_limit: int
    connections: dict[str, Connection] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)

    def seed(self, now: datetime) -> None:
        for i, pid in enumerate(SEEDED_CONNECTED):
            last = now - timedelta(minutes=15 * (i + 1))
            self.connections[pid] = Connection(
                connection_id=f"{pid}-{self.org_id}",
                connected_at=now - timedelta(days=90),
                syncs=[self._sync(pid, m, "done", last) for m in PROVIDERS[pid]["models"]],
                polls=1,
                last_data=last,
            )

    @staticmethod
    def _sync(pid: str, model: str, phase: str, at: datetime | None) -> dict[str, Any]:
        if phase == "pending":
            return {"model": model, "status": "PENDING", "lastSyncedAt": None, "errorMessage": None}
        if pid == FAILING_PROVIDER:
            return {
                "model": model,
                "status": "FAILED",
                "lastSyncedAt": iso(at) if at else None,
                "errorMessage": f"{PROVIDERS[pid]['name']} token expired: reconnect the integration",
            }
        return {
            "model": model,
            "status": "SUCCESS",
            "lastSyncedAt": iso(at) if at else None,
            "errorMessage": None,
        }

    # ------------------------------------------------------------------------------------------ reads
    def list(self, connected_only: bool, now: datetime) -> dict[str, Any]:
        items = []
        for pid, spec in PROVIDERS.items():
            conn = self.connections.get(pid)
            if connected_only and conn is None:
                continue
            status = None
            error = None
            if conn:
                states = {s["status"] for s in conn.syncs}
                status = "FAILED" if "FAILED" in states else ("PENDING" if "PENDING" in states else "SUCCESS")
                error = next((s["errorMessage"] for s in conn.syncs if s["errorMessage"]), None)
            items.append(
                {
                    "id": pid,
                    "name": spec["name"],
                    "category": spec["category"],
                    "status": "connected" if conn else "not_connected",
                    "connectionId": conn.connection_id if conn else None,
                    "lastDataReceivedAt": conn.last_received(pid, now) if conn else None,
                    "syncStatus": status,
                    "errorMessage": error,
                }
            )
        return {"items": items}

    def capabilities(self, provider: str | None) -> dict[str, Any]:
        if provider is not None:
            return {"provider": capability(resolve(provider))}
        return {pid: capability(pid) for pid in PROVIDERS}

    def sync_status(self, provider: str | None, now: datetime) -> dict[str, Any]:
        pid = resolve(provider)
        spec = PROVIDERS[pid]
        conn = self.connections.get(pid)
        base = {"provider": pid, "name": spec["name"], "category": spec["category"]}
        if conn is None:
            return {**base, "status": "not_connected", "syncs": []}
        conn.polls += 1
        if conn.polls >= 2 and any(s["status"] == "PENDING" for s in conn.syncs):
            conn.syncs = [self._sync(pid, s["model"], "done", now) for s in conn.syncs]
            conn.last_data = now
        return {**base, "status": "connected", "syncs": conn.current_syncs(pid, now)}

    # ------------------------------------------------------------------------------------------ writes
    def _limit_error(self) -> ApiError:
        return ApiError(
            403,
            "Your plan has reached its integration connection limit.",
            code="plan_connection_limit_exceeded",
            extra={
                "feature": "integration_connections",
                "plan": "free",
                "currentConnections": len(self.connections),
                "limit": self.connection_limit,
            },
        )

    def connect(self, body: dict[str, Any], base_url: str, now: datetime) -> dict[str, Any]:
        pid = resolve(body.get("provider"))
        # openapi.json closes the body to provider and config; Outlit's CLI also sends force (below)
        refuse_unknown_keys(body, {"provider", "config", "force"}, "the body takes provider and config")
        config = body.get("config")
        # a present config must be an object (null included): omit the key for a browser-auth session
        if "config" in body and not isinstance(config, dict):
            raise ApiError(
                400,
                "config must be an object of credential fields; omit it to start a browser-auth session",
                code="INVALID_REQUEST",
                details=[
                    {
                        "path": ["config"],
                        "message": f"Invalid input: expected object, received {type_name(config)}",
                    }
                ],
            )
        if config is not None:
            _check_config(pid, config)
        # Outlit's CLI sends force=true to reconnect an integration that is already connected
        if body.get("force") is True:
            self.connections.pop(pid, None)
        if pid in self.connections:
            return {
                "connected": True,
                "connectionId": self.connections[pid].connection_id,
                "alreadyConnected": True,
            }
        if len(self.connections) >= self.connection_limit:
            raise self._limit_error()
        if config is None:
            sid = str(uuid.uuid4())
            self.sessions[sid] = Session(session_id=sid, provider=pid)
            return {
                "sessionId": sid,
                "connectUrl": f"{base_url}/integrations?session={sid}",
                "alreadyConnected": False,
            }
        conn = self._new_connection(pid, now)
        return {"connected": True, "connectionId": conn.connection_id, "alreadyConnected": False}

    def _new_connection(self, pid: str, now: datetime) -> Connection:
        conn = Connection(
            connection_id=f"{pid}-{self.org_id}",
            connected_at=now,
            syncs=[self._sync(pid, m, "pending", None) for m in PROVIDERS[pid]["models"]],
        )
        self.connections[pid] = conn
        return conn

    def session_status(self, session_id: str | None, now: datetime) -> dict[str, Any]:
        if not session_id:
            raise ApiError(
                400, "Missing sessionId: pass the sessionId returned by POST /api/integrations/connect"
            )
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(
                400,
                f"Unknown sessionId {session_id!r}: start a new session with POST /api/integrations/connect",
                code="INVALID_REQUEST",
            )
        session.polls += 1
        if session.status == "pending" and session.polls >= 2:
            if session.provider in self.connections:
                session.status = "connected"
            elif len(self.connections) >= self.connection_limit:
                session.status = "failed"
            else:
                self._new_connection(session.provider, now)
                session.status = "connected"
        out = {"status": session.status, "provider": session.provider}
        if session.status == "failed":
            out["error"] = "The plan's integration connection limit was reached before the session completed"
        return out

    def disconnect(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pid = resolve(body.get("provider"))
        # openapi.json closes the body to `provider`
        refuse_unknown_keys(body, {"provider"}, "the body takes only provider")
        if self.connections.pop(pid, None) is None:
            return 404, {"success": False, "message": "Integration is not connected"}
        return 200, {"success": True}

    def setup_step(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        pid = resolve(body.get("provider"))
        # openapi.json closes IntegrationSetupStepRequest to provider, step and config
        refuse_unknown_keys(body, {"provider", "step", "config"}, "the body takes provider, step and config")
        step = body.get("step")
        if not isinstance(step, str) or not step:
            raise ApiError(400, "Missing step: pass a post-connect step such as mappings or webhooks")
        token = "webhooks" if step in ("webhooks", "webhook-setup") else step
        supported = PROVIDERS[pid]["steps"]
        if token not in supported:
            hint = ", ".join(supported) if supported else "none"
            raise ApiError(
                400,
                f"Step {step!r} is not supported for {pid}; supported steps: {hint}",
                code="INVALID_REQUEST",
                details=[{"path": ["step"], "message": f"Unsupported step {step!r}"}],
            )
        config = body.get("config")
        if "config" in body and not isinstance(config, dict):  # null included, as for connect
            raise ApiError(400, "config must be an object", code="INVALID_REQUEST")
        if pid not in self.connections:  # a state, answered as sync-status answers it (integrations.md)
            return {
                "provider": pid,
                "step": token,
                "status": "not_connected",
                "message": f"Connect {pid} first (outlit integrations setup {capability(pid)['cliName']}), "
                f"then run {step!r}",
            }
        config = config or {}
        if token == "mappings":
            if "mappings" not in config:
                return {
                    "provider": pid,
                    "step": "mappings",
                    "status": "config_required",
                    "pipelines": [
                        {
                            "id": "default",
                            "label": "Sales pipeline",
                            "stages": ["qualification", "proposal", "closed won"],
                        },
                        {
                            "id": "renewals",
                            "label": "Renewals",
                            "stages": ["upcoming", "negotiation", "renewed"],
                        },
                    ],
                }
            mappings = config["mappings"]
            if not isinstance(mappings, list):
                raise ApiError(400, "config.mappings must be a list", code="INVALID_REQUEST")
            return {
                "provider": pid,
                "step": "mappings",
                "status": "completed",
                "mappingsSaved": len(mappings),
            }
        out = {
            "provider": pid,
            "step": "webhooks",
            "status": "completed" if config.get("webhookSecret") else "manual_setup_required",
            "webhookUrl": f"{base_url}/api/webhooks/{pid}/{self.org_id}",
            "headers": {"Content-Type": "application/json"},
            "requiredEvents": _WEBHOOK_EVENTS.get(pid, []),
        }
        return out
