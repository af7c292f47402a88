"""The ingest API ``POST /api/i/v1/{publicKey}/events`` and its CORS preflight."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..ingest import check_payload
from ..limits import BadJson, BodyTooLarge, parse_json, read_body
from .common import json_response, public_route, sandbox_of

PATH = "/api/i/v1/{public_key}/events"


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def preflight(request: Request) -> Response:
    headers = {
        "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    }
    return Response(status_code=204, headers=headers)


async def ingest_events(request: Request) -> Response:
    state = sandbox_of(request)
    key = request.path_params["public_key"]
    store = state.ingest
    store.requests += 1
    headers = _cors_headers(request)

    def reply(body: dict[str, Any], status: int) -> Response:
        return json_response(body, status, headers)

    # The key check comes first, so requests with made-up keys never get a window of their own
    # (they would grow the limiter's state without bound); they still see the headers.
    if not hmac.compare_digest(key.encode(), state.config.public_key.encode()):
        headers.update(state.limiter.peek(key))
        return reply({"success": False, "message": "Invalid or inactive tracking configuration"}, 403)
    allowed, limit_headers = state.limiter.hit(key)
    headers.update(limit_headers)
    if not allowed:
        store.rate_limited += 1
        return reply({"success": False, "message": "Rate limit exceeded: retry after X-RateLimit-Reset"}, 429)
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
    check = check_payload(body)
    if check.refusals:
        store.rejected_requests += 1
        events = body.get("events") if isinstance(body, dict) else None
        store.rejected += len(events) if isinstance(events, list) else 0
        errors = check.all_issues()
        return reply({"success": False, "message": "Invalid event payload", "errors": errors}, 400)
    bad = check.unprocessable
    events = [event for i, event in enumerate(body["events"]) if i not in bad]
    _, rows = store.store({**body, "events": events}, key, state.dataset)
    state.sql.enqueue_activity(rows)
    answer: dict[str, Any] = {"success": True, "processed": len(events)}
    if bad:
        store.rejected += len(bad)
        answer["errors"] = [{"index": i, **issue} for i in sorted(bad) for issue in bad[i]]
    return reply(answer, 200)


ROUTES = [
    public_route("POST", PATH, ingest_events, "ingest", name_path="/api/i/v1/{publicKey}/events"),
    Route(PATH, preflight, methods=["OPTIONS"]),
]
