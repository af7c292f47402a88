"""The starlette application: public routes, fault injection, auth, plan limits and ``/_sandbox/*``."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import ingest as ingest_mod
from .errors import ApiError, invalid_input
from .handlers import HANDLERS
from .limits import BadJson, BodyTooLarge, parse_json, read_body
from .platform import COMMANDS, Command, CommandError, error_envelope
from .state import ORG_ID, SandboxState
from .tool_inputs import TOOL_INPUTS, TOOL_NAMES
from .validation import validate

Handler = Callable[[Request], Awaitable[Response]]
_log = logging.getLogger("outlit_sandbox")
_ids = itertools.count(1)


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


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def _request_id() -> str:
    return f"req_{next(_ids):010x}"


async def _read_json(request: Request, *, required: bool = True) -> Any:
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


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object", code="INVALID_REQUEST")
    return body


def create_app(state: SandboxState) -> Starlette:
    cfg = state.config

    # ---------------------------------------------------------------------------------------- wrappers
    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expected = f"Bearer {cfg.api_key}"
        return hmac.compare_digest(header.encode(), expected.encode())

    def fault_response(kind: str, fault: str) -> Response:
        status = int(fault)
        headers = {"Retry-After": str(cfg.retry_after)} if fault in ("429", "503") else None
        message = {
            "500": "Internal server error",
            "502": "Bad gateway",
            "503": "Service temporarily unavailable",
            "429": "Too many requests: slow down and retry after the Retry-After delay",
        }[fault]
        if kind == "ingest":
            return _json({"success": False, "message": message}, status, headers)
        body: dict[str, Any] = {"error": message}
        if fault == "429":
            body["code"] = "rate_limited"
        return _json(body, status, headers)

    def error_response(kind: str, err: ApiError) -> Response:
        if kind == "ingest":
            body: dict[str, Any] = {"success": False, "message": err.error}
            if err.details:
                body["errors"] = err.details
            return _json(body, err.status)
        return _json(err.body(_request_id()), err.status)

    def with_limit_headers(request: Request, response: Response, *, exhausted: bool = False) -> Response:
        """Every ingest answer carries X-RateLimit-*, also those the limiter never saw (faults, crashes)."""
        headers = state.limiter.peek(request.path_params.get("public_key", ""))
        if exhausted:  # an injected 429 says the window is used up, as a real one would
            headers["X-RateLimit-Remaining"] = "0"
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    def public(name: str, kind: str, fn: Handler, *, auth: bool = True) -> Handler:
        async def endpoint(request: Request) -> Response:
            state.routes[name] += 1
            fault = state.next_fault() if cfg.fault_rate > 0 else None
            if fault is not None and fault not in ("slow", "drop"):
                response = fault_response(kind, fault)
                if kind == "ingest":
                    return with_limit_headers(request, response, exhausted=fault == "429")
                return response
            if fault == "slow":
                await asyncio.sleep(cfg.slow_seconds)
            try:
                if auth and not authorized(request):
                    if name == "POST /api/validate-api-key":
                        response = _json({"valid": False, "error": "Invalid credentials"}, 401)
                    else:
                        response = _json({"error": "Invalid credentials"}, 401)
                else:
                    response = await fn(request)
            except ApiError as err:
                response = error_response(kind, err)
            except Exception:  # a sandbox bug still answers in the documented 500 shape
                _log.exception("unhandled error in %s", name)
                response = error_response(kind, ApiError(500, "Internal server error", code="INTERNAL"))
                if kind == "ingest":
                    with_limit_headers(request, response)
            if fault == "drop":
                return DroppedResponse()
            return response

        return endpoint

    def sandbox_route(fn: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not authorized(request):
                return _json({"error": "Invalid credentials: /_sandbox routes need the sandbox API key"}, 401)
            try:
                return await fn(request)
            except ApiError as err:
                return error_response("sandbox", err)
            except ValueError as err:
                return _json({"error": str(err)}, 400)

        return endpoint

    # ---------------------------------------------------------------------------------------- platform API
    async def validate_key(request: Request) -> Response:
        return _json({"valid": True, "organizationId": ORG_ID, "createdById": "user_sandbox_owner"})

    async def call_tool(request: Request) -> Response:
        body = _object_body(await _read_json(request))
        extra = sorted(set(body) - {"tool", "input"})
        if extra:
            raise ApiError(
                400,
                f"Unknown request field(s) {extra}: send only 'tool' and 'input'",
                code="INVALID_TOOL_CALL",
                details=[{"path": [k], "message": "Unrecognized key"} for k in extra],
            )
        tool = body.get("tool")
        if not isinstance(tool, str) or tool not in TOOL_INPUTS:
            raise ApiError(
                400,
                f"Unknown tool {tool!r}: use one of {', '.join(TOOL_NAMES)}",
                code="INVALID_TOOL_CALL",
                details=[{"path": ["tool"], "message": "Unknown tool name"}],
            )
        args = body.get("input", {})
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise invalid_input([{"path": ["input"], "message": "Invalid input: expected object"}])
        state.tools[tool] += 1
        if not state.plan_allows_call():
            raise ApiError(
                cfg.plan_limit_status,
                "Your plan has exhausted its included API calls for the current billing cycle.",
                code="api_limit_exceeded",
                extra={"plan": "free", "feature": "api_calls", "resetAt": _next_month_ms(state)},
            )
        issues = validate(TOOL_INPUTS[tool], args)
        if issues:
            raise invalid_input(issues)
        if tool == "outlit_query":
            state.sql.sync(state.dataset, state.ingest.activity_rows)
            result = await run_in_threadpool(
                state.sql.run, args["sql"], int(args.get("limit", 1000)), state.dataset.now, cfg.query_timeout
            )
        else:
            result = HANDLERS[tool](state, args)
        return _json(result)

    async def list_integrations(request: Request) -> Response:
        # as the real route reads it: only "true" is true, anything else lists every provider
        connected_only = request.query_params.get("connectedOnly") == "true"
        return _json(state.integrations.list(connected_only, state.dataset.now))

    async def capabilities(request: Request) -> Response:
        return _json(state.integrations.capabilities(request.query_params.get("provider")))

    async def setup_step(request: Request) -> Response:
        body = _object_body(await _read_json(request))
        return _json(state.integrations.setup_step(body, state.base_url))

    async def connect(request: Request) -> Response:
        body = _object_body(await _read_json(request))
        return _json(state.integrations.connect(body, state.base_url, state.dataset.now))

    async def connect_status(request: Request) -> Response:
        return _json(
            state.integrations.session_status(request.query_params.get("sessionId"), state.dataset.now)
        )

    async def disconnect(request: Request) -> Response:
        status, body = state.integrations.disconnect(_object_body(await _read_json(request)))
        return _json(body, status)

    async def sync_status(request: Request) -> Response:
        return _json(state.integrations.sync_status(request.query_params.get("provider"), state.dataset.now))

    def platform_handler(command: Command) -> Handler:
        async def handler(request: Request) -> Response:
            rid = request.path_params.get("id")
            body = None
            try:
                if command.takes_body:
                    try:
                        body = await _read_json(request)
                    except ApiError as err:
                        raise CommandError("validation_failed", err.error) from None
                operation, data, resources, warnings = command.run(state.platform, rid, body)
            except CommandError as err:
                return _json(error_envelope(command.command_id, err), err.status)
            return _json(
                {
                    "ok": True,
                    "commandId": command.command_id,
                    "commandVersion": 1,
                    "correlationId": f"corr_{next(_ids):012x}",
                    "result": {
                        "operationId": operation,
                        "status": "completed",
                        "resources": resources,
                        "data": data,
                        "warnings": warnings,
                        "auditId": f"audit_{next(_ids):012x}",
                    },
                }
            )

        return handler

    # ---------------------------------------------------------------------------------------- ingest API
    def cors_headers(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if not origin:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def ingest_preflight(request: Request) -> Response:
        headers = {
            "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        }
        return Response(status_code=204, headers=headers)

    async def ingest_events(request: Request) -> Response:
        key = request.path_params["public_key"]
        store = state.ingest
        store.requests += 1
        headers = cors_headers(request)

        def reply(body: dict[str, Any], status: int) -> Response:
            return _json(body, status, headers)

        # The key check comes first, so requests with made-up keys never get a window of their own
        # (they would grow the limiter's state without bound); they still see the headers.
        if not hmac.compare_digest(key.encode(), cfg.public_key.encode()):
            headers.update(state.limiter.peek(key))
            return reply({"success": False, "message": "Invalid or inactive tracking configuration"}, 403)
        allowed, limit_headers = state.limiter.hit(key)
        headers.update(limit_headers)
        if not allowed:
            store.rate_limited += 1
            return reply(
                {"success": False, "message": "Rate limit exceeded: retry after X-RateLimit-Reset"}, 429
            )
        try:
            # refused as soon as it passes 1 MB, whatever Content-Length says (or if it says nothing)
            body = parse_json(await read_body(request))
        except BodyTooLarge as err:
            store.rejected_requests += 1
            return reply(
                {
                    "success": False,
                    "message": f"Request body is over 1 MB ({err.size:,} bytes read): send fewer events",
                    "errors": [{"path": [], "message": "Request body exceeds 1 MB"}],
                },
                400,
            )
        except BadJson as err:
            store.rejected_requests += 1
            return reply({"success": False, "message": str(err)}, 400)
        issues = ingest_mod.validate_payload(body)
        if issues:
            store.rejected_requests += 1
            events = body.get("events") if isinstance(body, dict) else None
            store.rejected += len(events) if isinstance(events, list) else 0
            return reply({"success": False, "message": "Invalid event payload", "errors": issues}, 400)
        _, rows = store.store(body, key, state.dataset)
        state.sql.enqueue_activity(rows)
        return reply({"success": True, "processed": len(body["events"])}, 200)

    # ---------------------------------------------------------------------------------------- /_sandbox
    async def sb_stats(request: Request) -> Response:
        return _json(state.stats())

    async def sb_ingested(request: Request) -> Response:
        limit = request.query_params.get("limit")
        return _json(state.ingested(int(limit) if limit else None))

    async def sb_dataset(request: Request) -> Response:
        return _json(state.dataset_summary())

    async def sb_advance(request: Request) -> Response:
        body = await _read_json(request, required=False) or {}
        allowed = {
            "hours",
            "events_per_customer",
            "facts_per_customer",
            "status_changes",
            "late_events_per_customer",
            "silent_status_changes",
        }
        unknown = set(_object_body(body)) - allowed
        if unknown:
            raise ValueError(f"unknown advance option(s) {sorted(unknown)}; use {sorted(allowed)}")
        for k, v in body.items():
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{k} must be a number >= 0")
        return _json(state.advance(**body))

    async def sb_config(request: Request) -> Response:
        body = _object_body(await _read_json(request))
        return _json(state.configure(body))

    async def sb_reset(request: Request) -> Response:
        state.reset()
        return _json({"reset": True, "now": state.stats()["now"]})

    async def sb_health(request: Request) -> Response:
        return _json({"ok": True})

    # ---------------------------------------------------------------------------------------- routing
    routes = [
        Route(
            "/api/validate-api-key",
            public("POST /api/validate-api-key", "api", validate_key),
            methods=["POST"],
        ),
        Route("/api/tools/call", public("POST /api/tools/call", "api", call_tool), methods=["POST"]),
        Route(
            "/api/integrations", public("GET /api/integrations", "api", list_integrations), methods=["GET"]
        ),
        Route(
            "/api/integrations/capabilities",
            public("GET /api/integrations/capabilities", "api", capabilities),
            methods=["GET"],
        ),
        Route(
            "/api/integrations/setup-step",
            public("POST /api/integrations/setup-step", "api", setup_step),
            methods=["POST"],
        ),
        Route(
            "/api/integrations/connect",
            public("POST /api/integrations/connect", "api", connect),
            methods=["POST"],
        ),
        Route(
            "/api/integrations/connect/status",
            public("GET /api/integrations/connect/status", "api", connect_status),
            methods=["GET"],
        ),
        Route(
            "/api/integrations/disconnect",
            public("POST /api/integrations/disconnect", "api", disconnect),
            methods=["POST"],
        ),
        Route(
            "/api/integrations/sync-status",
            public("GET /api/integrations/sync-status", "api", sync_status),
            methods=["GET"],
        ),
        Route(
            "/api/i/v1/{public_key}/events",
            public("POST /api/i/v1/{publicKey}/events", "ingest", ingest_events, auth=False),
            methods=["POST"],
        ),
        Route("/api/i/v1/{public_key}/events", ingest_preflight, methods=["OPTIONS"]),
        Route("/_sandbox/health", sb_health, methods=["GET"]),
        Route("/_sandbox/stats", sandbox_route(sb_stats), methods=["GET"]),
        Route("/_sandbox/ingested", sandbox_route(sb_ingested), methods=["GET"]),
        Route("/_sandbox/dataset", sandbox_route(sb_dataset), methods=["GET"]),
        Route("/_sandbox/advance", sandbox_route(sb_advance), methods=["POST"]),
        Route("/_sandbox/config", sandbox_route(sb_config), methods=["POST"]),
        Route("/_sandbox/reset", sandbox_route(sb_reset), methods=["POST"]),
    ]
    # one route per path, so a wrong method's 405 lists every method the path has (Allow)
    by_path: dict[str, dict[str, Handler]] = {}
    for command in COMMANDS:
        name = f"{command.method} {command.path}"
        handler = public(name, "platform", platform_handler(command))
        by_path.setdefault(command.path, {})[command.method] = handler
    for path, handlers in by_path.items():
        routes.append(Route(path, _by_method(handlers), methods=list(handlers)))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        message = {
            404: f"No route {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
        }
        return _json({"error": message.get(status, "Request failed")}, status, getattr(exc, "headers", None))

    return Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return endpoint


def _next_month_ms(state: SandboxState) -> int:
    now = state.dataset.now
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return int(
        now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
        * 1000
    )
