"""What to send: one :class:`Call` per public method, with its arguments checked before anything is sent."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import OutlitArgumentError
from .platform import resolve_platform_route
from .tools import ToolSpec, check_query_sql, get_tool, validate_tool_input

PROVIDERS = (
    "hubspot",
    "attio",
    "slack",
    "fireflies",
    "granola",
    "google-calendar",
    "google-mail",
    "posthog",
    "stripe",
    "supabase",
    "clerk",
    "pylon",
)


@dataclass(frozen=True)
class Call:
    """One logical API call; retried attempts reuse it."""

    method: str
    path: str
    #: what logs and errors call it: "tool outlit_list_customers", "GET /api/agents"
    label: str
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    content: bytes | None = None
    auth: bool = True
    #: safe to repeat even when an earlier attempt may have taken effect
    idempotent: bool = True
    #: an ingest call: rate limited, and a 400 naming events is a result rather than an error
    ingest: bool = False
    retry_writes: bool = False


def _bad(message: str, path: list[Any], why: str) -> OutlitArgumentError:
    return OutlitArgumentError(message, details=[{"path": path, "message": why}])


def validate_key() -> Call:
    return Call("POST", "/api/validate-api-key", "POST /api/validate-api-key")


def tool(
    name: str, tool_input: Any, *, retry_writes: bool = False, validate: bool = True
) -> tuple[ToolSpec, Call]:
    if validate:
        spec, payload = validate_tool_input(name, tool_input)
    else:
        spec, payload = get_tool(name), dict(tool_input or {})
        if name == "outlit_query":
            check_query_sql(payload.get("sql"))  # the read-only guard is never skipped
    call = Call(
        "POST",
        "/api/tools/call",
        f"tool {name}",
        json_body={"tool": name, "input": payload},
        idempotent=spec.read_only,
        retry_writes=retry_writes,
    )
    return spec, call


def first_page_input(spec: ToolSpec, tool_input: Any) -> dict[str, Any]:
    _, payload = validate_tool_input(spec.name, tool_input)
    if spec.page_size_field and spec.page_size_field not in payload and spec.max_page_size:
        payload[spec.page_size_field] = spec.max_page_size
    return payload


def check_provider(provider: Any, field_name: str = "provider") -> str:
    if not isinstance(provider, str) or not provider.strip():
        raise _bad(f"{field_name} must be a provider id such as 'stripe'", [field_name], "missing")
    if provider not in PROVIDERS:
        alias = {"gmail": "google-mail"}.get(provider)
        close = [alias] if alias else difflib.get_close_matches(provider, PROVIDERS, n=2)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise _bad(
            f"unknown integration provider {provider!r}.{hint} Providers: {', '.join(PROVIDERS)}",
            [field_name],
            f"unknown provider {provider!r}",
        )
    return provider


def list_integrations(connected_only: bool) -> Call:
    params = {"connectedOnly": "true"} if connected_only else None
    return Call("GET", "/api/integrations", "GET /api/integrations", params=params)


def capabilities(provider: str | None) -> Call:
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        raise _bad(
            "provider must be a provider id or CLI alias, or None for all providers", ["provider"], "empty"
        )
    path = "/api/integrations/capabilities"
    return Call("GET", path, f"GET {path}", params={"provider": provider})


def _write(path: str, body: dict[str, Any], retry_writes: bool) -> Call:
    return Call("POST", path, f"POST {path}", json_body=body, idempotent=False, retry_writes=retry_writes)


def connect(provider: str, config: Mapping[str, Any] | None, retry_writes: bool) -> Call:
    body: dict[str, Any] = {"provider": check_provider(provider)}
    if config is not None:
        if not isinstance(config, Mapping) or not config:
            raise _bad(
                "config must be a non-empty mapping of credential fields (or None for a browser session)",
                ["config"],
                "not a non-empty object",
            )
        body["config"] = dict(config)
    return _write("/api/integrations/connect", body, retry_writes)


def connection_status(session_id: str) -> Call:
    if not isinstance(session_id, str) or not session_id.strip():
        raise _bad(
            "session_id must be the sessionId returned by connect_integration()", ["sessionId"], "missing"
        )
    path = "/api/integrations/connect/status"
    return Call("GET", path, f"GET {path}", params={"sessionId": session_id})


def disconnect(provider: str, retry_writes: bool) -> Call:
    return _write("/api/integrations/disconnect", {"provider": check_provider(provider)}, retry_writes)


def sync_status(provider: str) -> Call:
    path = "/api/integrations/sync-status"
    return Call("GET", path, f"GET {path}", params={"provider": check_provider(provider)})


def setup_step(provider: str, step: str, config: Mapping[str, Any] | None, retry_writes: bool) -> Call:
    if not isinstance(step, str) or not step.strip():
        raise _bad(
            "step must be a follow-up step token such as 'mappings' or 'webhooks'", ["step"], "missing"
        )
    body: dict[str, Any] = {"provider": check_provider(provider), "step": step}
    if config is not None:
        if not isinstance(config, Mapping):
            raise _bad("config must be a mapping", ["config"], "not an object")
        body["config"] = dict(config)
    return _write("/api/integrations/setup-step", body, retry_writes)


def platform(resource: str, action: str, resource_id: str | None, body: Any, retry_writes: bool) -> Call:
    route = resolve_platform_route(resource, action, resource_id, body)
    return Call(
        route.method,
        route.url_path(resource_id),
        f"{route.method} {route.path} ({resource}/{action})",
        json_body=body if route.body else None,
        idempotent=route.read_only,
        retry_writes=retry_writes,
    )


def ingest(public_key: str, content: bytes, count: int) -> Call:
    return Call(
        "POST",
        f"/api/i/v1/{public_key}/events",
        f"POST ingest ({count} events)",
        content=content,
        auth=False,
        idempotent=True,  # Outlit deduplicates by event uuid, so a resend cannot double-count
        ingest=True,
    )
