"""The starlette application: the per-area routers of ``routes/`` over one :class:`SandboxState`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from .routes import control, ingest, integrations, platform, tools
from .routes.common import json_response
from .state import SandboxState

_HTTP_ERRORS = {404: "No route {path}", 405: "{method} is not allowed on {path}"}


async def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    message = _HTTP_ERRORS.get(status, "Request failed").format(path=request.url.path, method=request.method)
    return json_response({"error": message}, status, getattr(exc, "headers", None))


def create_app(state: SandboxState) -> Starlette:
    routes = [*tools.ROUTES, *integrations.ROUTES, *ingest.ROUTES, *control.ROUTES, *platform.ROUTES]
    app = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})
    app.state.sandbox = state
    return app
