"""``/api/integrations/*``: list, capabilities, setup steps, connect sessions, disconnect, sync status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .common import json_response, public_route, read_object, sandbox_of


async def list_integrations(request: Request) -> Response:
    state = sandbox_of(request)
    # as the real route reads it: only "true" is true, anything else lists every provider
    connected_only = request.query_params.get("connectedOnly") == "true"
    return json_response(state.integrations.list(connected_only, state.dataset.now))


async def capabilities(request: Request) -> Response:
    provider = request.query_params.get("provider")
    return json_response(sandbox_of(request).integrations.capabilities(provider))


async def setup_step(request: Request) -> Response:
    state = sandbox_of(request)
    return json_response(state.integrations.setup_step(await read_object(request), state.base_url))


async def connect(request: Request) -> Response:
    state = sandbox_of(request)
    body = await read_object(request)
    return json_response(state.integrations.connect(body, state.base_url, state.dataset.now))


async def connect_status(request: Request) -> Response:
    state = sandbox_of(request)
    session = request.query_params.get("sessionId")
    return json_response(state.integrations.session_status(session, state.dataset.now))


async def disconnect(request: Request) -> Response:
    status, body = sandbox_of(request).integrations.disconnect(await read_object(request))
    return json_response(body, status)


async def sync_status(request: Request) -> Response:
    state = sandbox_of(request)
    provider = request.query_params.get("provider")
    return json_response(state.integrations.sync_status(provider, state.dataset.now))


ROUTES = [
    public_route("GET", "/api/integrations", list_integrations),
    public_route("GET", "/api/integrations/capabilities", capabilities),
    public_route("POST", "/api/integrations/setup-step", setup_step),
    public_route("POST", "/api/integrations/connect", connect),
    public_route("GET", "/api/integrations/connect/status", connect_status),
    public_route("POST", "/api/integrations/disconnect", disconnect),
    public_route("GET", "/api/integrations/sync-status", sync_status),
]
