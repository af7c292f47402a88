"""``POST /api/validate-api-key`` and the tool gateway ``POST /api/tools/call``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ApiError, invalid_input, refuse_unknown_keys
from ..handlers import HANDLERS
from ..state import ORG_ID, SandboxState
from ..tool_inputs import TOOL_INPUTS, TOOL_NAMES
from ..validation import validate
from .common import json_response, public_route, read_object, sandbox_of


async def validate_key(request: Request) -> Response:
    return json_response({"valid": True, "organizationId": ORG_ID, "createdById": "user_sandbox_owner"})


async def call_tool(request: Request) -> Response:
    state = sandbox_of(request)
    body = await read_object(request)
    refuse_unknown_keys(body, {"tool", "input"}, "send only 'tool' and 'input'", code="INVALID_TOOL_CALL")
    tool = body.get("tool")
    if not isinstance(tool, str) or tool not in TOOL_INPUTS:
        raise ApiError(
            400,
            f"Unknown tool {tool!r}: use one of {', '.join(TOOL_NAMES)}",
            code="INVALID_TOOL_CALL",
            details=[{"path": ["tool"], "message": "Unknown tool name"}],
        )
    args = body.get("input", {})  # omitted means {} (its default); null is not an object
    if not isinstance(args, dict):
        raise invalid_input([{"path": ["input"], "message": "Invalid input: expected object"}])
    state.tools[tool] += 1
    if not state.plan_allows_call():
        raise ApiError(
            state.config.plan_limit_status,
            "Your plan has exhausted its included API calls for the current billing cycle.",
            code="api_limit_exceeded",
            extra={"plan": "free", "feature": "api_calls", "resetAt": next_month_ms(state)},
        )
    issues = validate(TOOL_INPUTS[tool], args)
    if issues:
        raise invalid_input(issues)
    if tool == "outlit_query":  # a statement may run for seconds: off the event loop
        return json_response(await run_in_threadpool(HANDLERS[tool], state, args))
    return json_response(HANDLERS[tool](state, args))


def next_month_ms(state: SandboxState) -> int:
    """When the plan's call allowance resets: the start of next month, in epoch milliseconds."""
    now = state.dataset.now
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


ROUTES = [
    public_route("POST", "/api/validate-api-key", validate_key),
    public_route("POST", "/api/tools/call", call_tool),
]
