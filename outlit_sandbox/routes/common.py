"""What every route shares: JSON answers, body reading, auth, injected faults and error shapes."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..errors import ApiError
from ..limits import BadJson, BodyTooLarge, parse_json, read_body
from ..state import SandboxState

Handler = Callable[[Request], Awaitable[Response]]
_log = logging.getLogger("outlit_sandbox")
_ids = itertools.count(1)

FAULT_MESSAGES = {
    "500": "Internal server error",
    "502": "Bad gateway",
    "503": "Service temporarily unavailable",
    "429": "Too many requests: slow down and retry after the Retry-After delay",
}


class SandboxDrop(Exception):
    """Raised after a partial response to make the server cut the connection (an injected fault)."""


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SandboxDrop)


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


class DroppedResponse(Response):
    """Headers promising a body that never fully arrives, then a closed connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"items": [', "more_body": True})
        raise SandboxDrop("injected fault: connection dropped mid-response")


def sandbox_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def next_id(prefix: str, width: int) -> str:
    return f"{prefix}_{next(_ids):0{width}x}"


async def read_json(request: Request, *, required: bool = True) -> Any:
    try:
        raw = await read_body(request)
    except BodyTooLarge as err:
        raise ApiError(400, str(err), code="INVALID_REQUEST") from None
    if not raw.strip():
        if required:
            raise ApiError(400, "Request body is required: send a JSON object", code="INVALID_JSON")
        return None
    try:
        return parse_json(raw)
    except BadJson as err:
        raise ApiError(400, f"{err}: send a JSON object", code="INVALID_JSON") from None


def object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object", code="INVALID_REQUEST")
    return body


async def read_object(request: Request) -> dict[str, Any]:
    return object_body(await read_json(request))


def authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    expected = f"Bearer {sandbox_of(request).config.api_key}"
    return hmac.compare_digest(header.encode(), expected.encode())


def _fault_response(state: SandboxState, kind: str, fault: str) -> Response:
    headers = {"Retry-After": str(state.config.retry_after)} if fault in ("429", "503") else None
    message = FAULT_MESSAGES[fault]
    if kind == "ingest":
        return json_response({"success": False, "message": message}, int(fault), headers)
    body: dict[str, Any] = {"error": message}
    if fault == "429":
        body["code"] = "rate_limited"
    return json_response(body, int(fault), headers)


def error_response(kind: str, err: ApiError) -> Response:
    if kind == "ingest":
        body: dict[str, Any] = {"success": False, "message": err.error}
        if err.details:
            body["errors"] = err.details
        return json_response(body, err.status)
    return json_response(err.body(next_id("req", 10)), err.status)


def with_limit_headers(request: Request, response: Response, *, exhausted: bool = False) -> Response:
    """Every ingest answer carries X-RateLimit-*, also those the limiter never saw (faults, crashes)."""
    headers = sandbox_of(request).limiter.peek(request.path_params.get("public_key", ""))
    if exhausted:  # an injected 429 says the window is used up, as a real one would
        headers["X-RateLimit-Remaining"] = "0"
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    return response


def _unauthorized(name: str) -> Response:
    if name == "POST /api/validate-api-key":
        return json_response({"valid": False, "error": "Invalid credentials"}, 401)
    return json_response({"error": "Invalid credentials"}, 401)


def public(name: str, kind: str, fn: Handler, *, auth: bool = True) -> Handler:
    """``fn`` as a public route: counted, open to injected faults, key-checked, errors in ``kind``'s shape."""

    async def endpoint(request: Request) -> Response:
        state = sandbox_of(request)
        state.routes[name] += 1
        fault = state.next_fault() if state.config.fault_rate > 0 else None
        if fault is not None and fault not in ("slow", "drop"):
            response = _fault_response(state, kind, fault)
            if kind == "ingest":
                return with_limit_headers(request, response, exhausted=fault == "429")
            return response
        if fault == "slow":
            await asyncio.sleep(state.config.slow_seconds)
        try:
            response = await fn(request) if not auth or authorized(request) else _unauthorized(name)
        except ApiError as err:
            response = error_response(kind, err)
        except Exception:  # a sandbox bug still answers in the documented 500 shape
            _log.exception("unhandled error in %s", name)
            response = error_response(kind, ApiError(500, "Internal server error", code="INTERNAL"))
            if kind == "ingest":
                with_limit_headers(request, response)
        return DroppedResponse() if fault == "drop" else response

    return endpoint


def public_route(method: str, path: str, fn: Handler, kind: str = "api", *, name_path: str = "") -> Route:
    """One public route; ``name_path`` is the spec's spelling of the path where it differs (stats keys)."""
    name = f"{method} {name_path or path}"
    return Route(path, public(name, kind, fn, auth=kind != "ingest"), methods=[method])
