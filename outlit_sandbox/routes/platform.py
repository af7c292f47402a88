"""Platform actions (agents, automations, signals, destinations): one route per path of the command table."""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ApiError
from ..platform import COMMANDS, Command, CommandError, error_envelope
from .common import Handler, json_response, next_id, public, read_json, sandbox_of


async def run_command(command: Command, request: Request) -> Response:
    """One command in its envelope: ``result`` on success, the command's error envelope otherwise."""
    body = None
    try:
        if command.takes_body:
            try:
                body = await read_json(request)
            except ApiError as err:
                raise CommandError("validation_failed", err.error) from None
        rid = request.path_params.get("id")
        operation, data, resources, warnings = command.run(sandbox_of(request).platform, rid, body)
    except CommandError as err:
        return json_response(error_envelope(command.command_id, err), err.status)
    result = {
        "operationId": operation,
        "status": "completed",
        "resources": resources,
        "data": data,
        "warnings": warnings,
    }
    return json_response(
        {
            "ok": True,
            "commandId": command.command_id,
            "commandVersion": 1,
            "correlationId": next_id("corr", 12),
            "result": {**result, "auditId": next_id("audit", 12)},
        }
    )


async def by_method(handlers: dict[str, Handler], request: Request) -> Response:
    method = "GET" if request.method == "HEAD" else request.method
    return await handlers[method](request)


def _routes() -> list[Route]:
    # one route per path, so a wrong method's 405 lists every method the path has (Allow)
    by_path: dict[str, dict[str, Handler]] = {}
    for command in COMMANDS:
        handler = public(f"{command.method} {command.path}", "platform", partial(run_command, command))
        by_path.setdefault(command.path, {})[command.method] = handler
    return [
        Route(path, partial(by_method, handlers), methods=list(handlers))
        for path, handlers in by_path.items()
    ]


ROUTES = _routes()
