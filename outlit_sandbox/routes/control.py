"""``/_sandbox/*``: test control (stats, what was ingested, the dataset, advance, config, reset)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ApiError
from .common import Handler, authorized, error_response, json_response, object_body, read_json, sandbox_of


def control(fn: Handler) -> Handler:
    """A control route: the sandbox API key, and a 400 naming the problem for a bad option."""

    async def endpoint(request: Request) -> Response:
        if not authorized(request):
            message = "Invalid credentials: /_sandbox routes need the sandbox API key"
            return json_response({"error": message}, 401)
        try:
            return await fn(request)
        except ApiError as err:
            return error_response("sandbox", err)
        except ValueError as err:
            return json_response({"error": str(err)}, 400)

    return endpoint


async def stats(request: Request) -> Response:
    return json_response(sandbox_of(request).stats())


async def ingested(request: Request) -> Response:
    limit = request.query_params.get("limit")
    return json_response(sandbox_of(request).ingested(int(limit) if limit else None))


async def dataset(request: Request) -> Response:
    return json_response(sandbox_of(request).dataset_summary())


async def advance(request: Request) -> Response:
    body = await read_json(request, required=False) or {}
    for k, v in object_body(body).items():  # unknown options: Advancing.advance names them
        if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{k} must be a number >= 0")
    return json_response(sandbox_of(request).advance(**body))


async def configure(request: Request) -> Response:
    body = object_body(await read_json(request))
    return json_response(sandbox_of(request).configure(body))


async def reset(request: Request) -> Response:
    state = sandbox_of(request)
    state.reset()
    return json_response({"reset": True, "now": state.stats()["now"]})


async def health(request: Request) -> Response:
    return json_response({"ok": True})


ROUTES = [
    Route("/_sandbox/health", health, methods=["GET"]),
    Route("/_sandbox/stats", control(stats), methods=["GET"]),
    Route("/_sandbox/ingested", control(ingested), methods=["GET"]),
    Route("/_sandbox/dataset", control(dataset), methods=["GET"]),
    Route("/_sandbox/advance", control(advance), methods=["POST"]),
    Route("/_sandbox/config", control(configure), methods=["POST"]),
    Route("/_sandbox/reset", control(reset), methods=["POST"]),
]
